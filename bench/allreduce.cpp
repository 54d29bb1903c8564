// Bucketed gradient all-reduce of a model-sized parameter set under mpiexec: algorithm bandwidth
// (bytes reduced / time) per bucket size, to compare with memcpy bandwidth (bench_roofline).
// Usage: mpiexec -n 2 bench_allreduce [million_params=125] [repeats=3] [backend=mpi|nccl]
// (nccl: CUDA tensors, one GPU per rank by node-local rank; needs as many GPUs as ranks per node)
#include <mpi.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "comm/communicator.h"
#include "comm/mpi_env.h"
#include "comm/tensor_ops.h"

int main(int argc, char** argv) {
  unl::comm::MpiEnvironment env(&argc, &argv);
  const double millions = argc > 1 ? std::atof(argv[1]) : 125;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::string backend = argc > 3 ? argv[3] : "mpi";
  torch::set_num_threads(1);
  unl::comm::CommOptions o;
  o.backend = backend;
  o.use_cuda = backend == "nccl";
  torch::Device device = torch::kCPU;
  if (o.use_cuda) {
    if (!torch::cuda::is_available()) {
      std::fprintf(stderr, "bench_allreduce: the nccl backend needs a CUDA device\n");
      return 2;
    }
    const auto count = static_cast<int>(torch::cuda::device_count());
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(unl::comm::node_placement().local_rank % count));
  }
  const auto opts = torch::TensorOptions().device(device);
  auto comm = unl::comm::make_communicator(o);
  // A GPT-Neo-125M-like mix of shapes: embeddings plus many layer matrices and vectors.
  const int64_t total = static_cast<int64_t>(millions * 1e6);
  std::vector<torch::Tensor> grads;
  int64_t used = 0;
  grads.push_back(torch::ones({std::min<int64_t>(total / 3, 50257 * 768)}, opts));
  used += grads.back().numel();
  while (used < total) {
    const int64_t n = std::min<int64_t>(total - used, 768 * 768);
    grads.push_back(torch::ones({n}, opts));
    used += n;
    if (used < total) {
      grads.push_back(torch::ones({std::min<int64_t>(total - used, 768)}, opts));
      used += grads.back().numel();
    }
  }
  const double bytes = static_cast<double>(used) * 4;
  for (double mb : {1.0, 4.0, 25.0, 100.0}) {
    unl::comm::GradientBucketer bucketer(grads, static_cast<int64_t>(mb * (1 << 20)));
    bucketer.allreduce(*comm);
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      comm->barrier();
      const auto t0 = std::chrono::steady_clock::now();
      bucketer.allreduce(*comm);
      if (o.use_cuda) torch::cuda::synchronize();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (comm->rank() == 0)
      std::printf("{\"bench\": \"allreduce\", \"backend\": \"%s\", \"ranks\": %d, \"params\": %lld, \"bucket_mb\": %.0f, \"buckets\": %lld, "
                  "\"seconds\": %.4f, \"algbw_gbs\": %.3f}\n",
                  backend.c_str(), comm->size(), static_cast<long long>(used), mb, static_cast<long long>(bucketer.num_buckets()), best,
                  bytes / best / 1e9);
  }
  return 0;
}
