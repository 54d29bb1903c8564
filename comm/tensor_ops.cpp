// Tensor all-reduce and the gradient bucketer.
#include "comm/tensor_ops.h"

#include <algorithm>
#include <map>
#include <string>

#include "common/error.h"

namespace unl::comm {

DType to_comm_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return DType::kFloat32;
    case torch::kFloat64: return DType::kFloat64;
    case torch::kInt32: return DType::kInt32;
    case torch::kInt64: return DType::kInt64;
    case torch::kUInt8: return DType::kUInt8;
    case torch::kBFloat16: return DType::kBFloat16;
    case torch::kFloat16: return DType::kFloat16;
    default: break;
  }
  UNL_THROW(std::string("cannot all-reduce tensors of type ") + c10::toString(type),
            "use float32/float64/bfloat16/float16/int32/int64/uint8 tensors");
}

void allreduce_tensor(Communicator& comm, torch::Tensor& tensor, ReduceOp op) {
  UNL_CHECK(tensor.is_contiguous(), "all-reduce of a non-contiguous tensor",
            "call .contiguous() first (the result must land in the tensor's own storage)");
  if (comm.size() == 1 || tensor.numel() == 0) return;
  const bool half = tensor.scalar_type() == torch::kBFloat16 || tensor.scalar_type() == torch::kHalf;
  if (half && (comm.backend() != "nccl" || !tensor.is_cuda())) {
    torch::Tensor wide = tensor.to(torch::kFloat32).contiguous();
    comm.allreduce(wide.data_ptr(), static_cast<size_t>(wide.numel()), DType::kFloat32, op);
    tensor.copy_(wide);
    return;
  }
  if (tensor.is_cuda() && comm.backend() != "nccl") {
    torch::Tensor host = tensor.cpu().contiguous();
    comm.allreduce(host.data_ptr(), static_cast<size_t>(host.numel()), to_comm_dtype(host.scalar_type()), op);
    tensor.copy_(host);
    return;
  }
  comm.allreduce(tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                 to_comm_dtype(tensor.scalar_type()), op);
}

namespace {
void check_blocks(Communicator& comm, const torch::Tensor& full, const torch::Tensor& shard, const char* what) {
  UNL_CHECK(full.is_contiguous() && shard.is_contiguous() && full.scalar_type() == shard.scalar_type() &&
                full.device() == shard.device(),
            std::string(what) + " of tensors that are not contiguous or differ in dtype/device",
            "this is a bug: sharded buffers are allocated contiguous, one dtype per buffer");
  UNL_CHECK(full.numel() == shard.numel() * comm.size(),
            std::string(what) + ": the full buffer has " + std::to_string(full.numel()) + " elements, not " +
                std::to_string(comm.size()) + " x " + std::to_string(shard.numel()),
            "this is a bug: pad the full buffer to a multiple of the world size (shard::FlatLayout does)");
}
bool is_half(const torch::Tensor& t) { return t.scalar_type() == torch::kBFloat16 || t.scalar_type() == torch::kHalf; }
}  // namespace

void reduce_scatter_tensor(Communicator& comm, const torch::Tensor& full, torch::Tensor& shard, ReduceOp op) {
  check_blocks(comm, full, shard, "reduce-scatter");
  if (shard.numel() == 0) return;
  const bool device_native = comm.backend() == "nccl" && full.is_cuda();
  if (!device_native && (is_half(full) || full.is_cuda())) {
    // MPI: host memory, and float32 for the arithmetic half types lack.
    const auto wide = is_half(full) ? torch::kFloat32 : full.scalar_type();
    const torch::Tensor f = full.to(torch::kCPU, wide).contiguous();
    torch::Tensor s = torch::empty({shard.numel()}, f.options());
    comm.reduce_scatter(f.data_ptr(), s.data_ptr(), static_cast<size_t>(s.numel()), to_comm_dtype(wide), op);
    shard.copy_(s.view(shard.sizes()));
    return;
  }
  comm.reduce_scatter(full.data_ptr(), shard.data_ptr(), static_cast<size_t>(shard.numel()),
                      to_comm_dtype(full.scalar_type()), op);
}

void allgather_tensor(Communicator& comm, const torch::Tensor& shard, torch::Tensor& full) {
  check_blocks(comm, full, shard, "all-gather");
  if (shard.numel() == 0) return;
  if (full.is_cuda() && comm.backend() != "nccl") {
    torch::Tensor f = torch::empty({full.numel()}, full.options().device(torch::kCPU));
    const torch::Tensor s = shard.cpu().contiguous();
    comm.allgather(s.data_ptr(), f.data_ptr(), static_cast<size_t>(s.numel()), to_comm_dtype(s.scalar_type()));
    full.copy_(f.view(full.sizes()));
    return;
  }
  comm.allgather(shard.data_ptr(), full.data_ptr(), static_cast<size_t>(shard.numel()),
                 to_comm_dtype(shard.scalar_type()));
}

GradientBucketer::GradientBucketer(std::vector<torch::Tensor> tensors, int64_t bucket_bytes)
    : tensors_(std::move(tensors)), bucket_bytes_(bucket_bytes) {
  UNL_CHECK(bucket_bytes > 0, "bucket size must be positive", "set runtime.bucket_mb > 0");
  // Group by (dtype, device) keeping first-seen order so every rank builds identical buckets.
  std::vector<std::pair<std::string, std::vector<size_t>>> groups;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& t = tensors_[i];
    UNL_CHECK(t.defined(), "bucketer given an undefined tensor at index " + std::to_string(i),
              "allocate gradients before building the bucketer");
    const std::string key = std::string(c10::toString(t.scalar_type())) + "@" + t.device().str();
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.push_back({key, {}});
      it = groups.end() - 1;
    }
    it->second.push_back(i);
  }
  for (const auto& [key, members] : groups) {
    Bucket current;
    int64_t bytes = 0;
    for (size_t i : members) {
      const int64_t b = tensors_[i].numel() * static_cast<int64_t>(tensors_[i].element_size());
      if (!current.members.empty() && bytes + b > bucket_bytes) {
        buckets_.push_back(std::move(current));
        current = Bucket{};
        bytes = 0;
      }
      current.members.push_back(i);
      bytes += b;
      total_bytes_ += b;
    }
    if (!current.members.empty()) buckets_.push_back(std::move(current));
  }
  // One scratch buffer per (dtype, device) group, as large as the group's largest bucket.
  std::map<std::string, torch::Tensor> scratch;
  std::map<std::string, int64_t> largest;
  auto key_of = [&](const Bucket& b) {
    const auto& t = tensors_[b.members[0]];
    return std::string(c10::toString(t.scalar_type())) + "@" + t.device().str();
  };
  std::vector<int64_t> sizes;
  for (const auto& bucket : buckets_) {
    int64_t n = 0;
    for (size_t i : bucket.members) n += tensors_[i].numel();
    sizes.push_back(n);
    if (bucket.members.size() > 1) largest[key_of(bucket)] = std::max(largest[key_of(bucket)], n);
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b].members.size() == 1) continue;  // reduced in place: no scratch
    const std::string key = key_of(buckets_[b]);
    if (!scratch.count(key)) scratch[key] = torch::empty({largest[key]}, tensors_[buckets_[b].members[0]].options());
    buckets_[b].flat = scratch[key].narrow(0, 0, sizes[b]);
  }
}

void GradientBucketer::allreduce(Communicator& comm, const std::vector<torch::Tensor>& tensors,
                                 double scale) {
  UNL_CHECK(tensors.size() == tensors_.size(),
            "bucketer built for " + std::to_string(tensors_.size()) + " tensors got " +
                std::to_string(tensors.size()),
            "this is a bug: the parameter list changed after the bucketer was built");
  torch::NoGradGuard no_grad;
  // At most one bucket's bytes per call, so the MPI library's own buffers stay bucket-sized too.
  auto reduce_in_slices = [&](torch::Tensor flat) {
    const int64_t per = std::max<int64_t>(1, bucket_bytes_ / static_cast<int64_t>(flat.element_size()));
    for (int64_t begin = 0; begin < flat.numel(); begin += per) {
      torch::Tensor part = flat.narrow(0, begin, std::min(per, flat.numel() - begin));
      allreduce_tensor(comm, part, ReduceOp::kSum);
    }
    if (scale != 1.0) flat.mul_(scale);
  };
  for (auto& bucket : buckets_) {
    for (size_t i : bucket.members)
      UNL_CHECK(tensors[i].defined() && tensors[i].numel() == tensors_[i].numel(),
                "tensor " + std::to_string(i) + " does not match the bucket layout",
                "every rank must allocate all gradients (zeros where it had no work)");
    // A tensor alone in its bucket (often larger than a bucket) is reduced where it lies.
    if (bucket.members.size() == 1 && tensors[bucket.members[0]].is_contiguous()) {
      reduce_in_slices(tensors[bucket.members[0]].view({-1}));
      continue;
    }
    int64_t offset = 0;
    for (size_t i : bucket.members) {
      const int64_t n = tensors_[i].numel();
      bucket.flat.narrow(0, offset, n).copy_(tensors[i].reshape({-1}));
      offset += n;
    }
    reduce_in_slices(bucket.flat);
    offset = 0;
    for (size_t i : bucket.members) {
      const int64_t n = tensors_[i].numel();
      tensors[i].copy_(bucket.flat.narrow(0, offset, n).view(tensors[i].sizes()));
      offset += n;
    }
  }
}

}  // namespace unl::comm
