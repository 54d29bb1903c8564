// Throughput of the full ICU step: forward of the trained model on the forget and neighbour
// batches, forward of the frozen reference on the neighbours, one backward, the bucketed gradient
// all-reduce, Adam. Reports tokens/s, model FLOPs utilisation against the matmul rate measured in
// the same run, and (under mpiexec) the share of the step spent in the all-reduce.
// Usage: [mpiexec -n R] bench_icu_step [shape=125m|10m|1.3b|2.7b] [global_batch=8] [seq=200]
//        [steps=3] [threads=0] [target=cpu|cuda|cuda:bf16] [bucket_mb=25]
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/bench_util.h"
#include "comm/communicator.h"
#include "comm/mpi_env.h"
#include "comm/tensor_ops.h"
#include "model/model.h"
#include "shard/shard.h"
#include "unlearn/adam.h"
#include "unlearn/method.h"

using unl::bench::now;


int main(int argc, char** argv) {
  unl::comm::MpiEnvironment env(&argc, &argv);
  const std::string shape = argc > 1 ? argv[1] : "125m";
  const int64_t global_batch = argc > 2 ? std::atoll(argv[2]) : 8;
  const int64_t seq = argc > 3 ? std::atoll(argv[3]) : 200;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 3;
  at::globalContext().setFlushDenormal(true);  // as build/bin/unlearn does
  if (argc > 5 && std::atoi(argv[5]) > 0) torch::set_num_threads(std::atoi(argv[5]));
  auto target = unl::bench::parse_target(argc > 6 ? argv[6] : "cpu");
  const double bucket_mb = argc > 7 ? std::atof(argv[7]) : 25.0;

  unl::comm::CommOptions co;
  co.use_cuda = target.device.is_cuda();
  auto comm = unl::comm::make_communicator(co);
  if (target.device.is_cuda()) {  // one GPU per rank on a node
    const auto count = static_cast<int>(torch::cuda::device_count());
    const auto index = static_cast<c10::DeviceIndex>(unl::comm::node_placement().local_rank % count);
    target.device = torch::Device(torch::kCUDA, index);
  }

  const auto c = unl::bench::gpt_neo_shape(shape);
  torch::manual_seed(0);  // same weights on every rank, as after a broadcast
  auto model = unl::model::make_causal_lm(c);
  model->to(target.device);
  auto reference = unl::model::clone_causal_lm(*model);
  for (auto& p : reference->parameters()) p.set_requires_grad(false);
  unl::unlearn::NamedTensors named;
  std::vector<torch::Tensor> grads;
  int64_t params = 0;
  for (auto& [n, p] : unl::model::hf_state_dict(*model)) {
    p.mutable_grad() = torch::zeros_like(p);  // allocated once, as the run loop does
    named.emplace_back(n, p);
    grads.push_back(p.grad());
    params += p.numel();
  }
  unl::unlearn::Adam adam(named);
  unl::comm::GradientBucketer bucketer(grads, static_cast<int64_t>(bucket_mb * (1 << 20)));
  auto method = unl::unlearn::make_method("icu", {});

  // This rank's share of the global batch (the data differ per rank; the shapes are what count).
  const auto [lo, hi] = unl::shard::block_range(global_batch, comm->size(), comm->rank());
  const int64_t rows = hi - lo;
  torch::manual_seed(1 + comm->rank());
  unl::unlearn::Batch b;
  const auto ids = torch::TensorOptions().dtype(torch::kInt64);
  b.forget_ids = torch::randint(0, c.vocab_size, {rows, seq}, ids).to(target.device);
  b.forget_mask = torch::ones({rows, seq}, ids).to(target.device);
  b.neighbour_ids = torch::randint(0, c.vocab_size, {rows, seq}, ids).to(target.device);
  b.neighbour_mask = torch::ones({rows, seq}, ids).to(target.device);
  auto counts = method->count(b);
  for (auto& [k, v] : counts) v = comm->allreduce_sum(v);

  double comm_s = 0, wait_s = 0;
  auto run_step = [&] {
    adam.zero_grad();
    if (rows > 0) {
      unl::bench::set_autocast(target, true);  // forward passes in bf16 where autocast applies
      auto loss = method->loss(*model, reference.get(), b, counts);
      unl::bench::set_autocast(target, false);
      loss.loss.backward();
    }
    unl::bench::sync(target);
    // Waiting for the slowest rank (load imbalance, a busy core) is timed apart from the transfer.
    const double t0 = now();
    comm->barrier();
    const double t1 = now();
    bucketer.allreduce(*comm, grads);
    unl::bench::sync(target);
    wait_s += t1 - t0;
    comm_s += now() - t1;
    adam.step();
  };
  run_step();  // warm-up (allocations, lazy init)
  comm_s = wait_s = 0;
  comm->barrier();
  const double t0 = now();
  for (int s = 0; s < steps; ++s) run_step();
  unl::bench::sync(target);
  const double dt = (now() - t0) / steps;
  comm_s /= steps;
  wait_s /= steps;

  // Matmul FLOPs per token: 2 * (non-embedding matmul params + lm_head), plus attention scores
  // and values (QK^T and AV, 2 * 2 * seq * d per token per layer, halved for the causal mask).
  const double d = static_cast<double>(c.hidden_size), L = static_cast<double>(c.num_layers);
  const double matmul_params = L * (4 * d * d + 2 * d * c.intermediate_size) + d * c.vocab_size;
  const double attn = L * 2 * 2 * seq * d;
  const double per_token_fwd = 2 * matmul_params + attn / 2;
  const double tokens = static_cast<double>(global_batch * seq);
  // Trained model: forward + backward (3x) on forget and neighbour batches; reference: forward on neighbours.
  const double flops = 3 * per_token_fwd * 2 * tokens + per_token_fwd * tokens;
  // The denominator: fp32 GEMM on the CPU (1024^3), the card's bf16 or fp32 matmul on CUDA (8192^3),
  // measured on every rank at once (ranks share the machine) and summed.
  const double peak = comm->allreduce_sum(unl::bench::matmul_gflops(target, target.device.is_cuda() ? 8192 : 1024)) * 1e9;
  double worst[2] = {comm_s, wait_s};
  comm->allreduce(worst, 2, unl::comm::DType::kFloat64, unl::comm::ReduceOp::kMax);
  const double worst_comm = worst[0], worst_wait = worst[1];
  if (comm->rank() == 0)
    std::printf("{\"bench\": \"icu_step\", \"target\": \"%s\", \"ranks\": %d, \"shape\": \"%s\", \"params\": %lld, "
                "\"global_batch\": %lld, \"seq\": %lld, \"threads\": %d, \"bucket_mb\": %.0f, \"step_s\": %.3f, "
                "\"comm_s\": %.3f, \"comm_share\": %.3f, \"wait_s\": %.3f, \"tokens_per_s\": %.1f, \"achieved_gflops\": %.1f, "
                "\"peak_gflops\": %.1f, \"mfu\": %.3f}\n",
                target.name().c_str(), comm->size(), shape.c_str(), static_cast<long long>(params),
                static_cast<long long>(global_batch), static_cast<long long>(seq), torch::get_num_threads(), bucket_mb,
                dt, worst_comm, worst_comm / dt, worst_wait, 2 * tokens / dt, flops / dt / 1e9, peak / 1e9, flops / dt / peak);
  return 0;
}
