// Tensor collectives: all-reduce of one tensor, and the gradient bucketer that flattens many
// gradients into a few large buffers so a step costs one or a few all-reduce calls, not hundreds.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "comm/communicator.h"

namespace unl::comm {

DType to_comm_dtype(torch::ScalarType type);

/// In-place sum (or max/min) of a contiguous tensor over ranks. Half-precision tensors are
/// reduced in float32 on the MPI backend (MPI has no bf16/fp16 sum).
void allreduce_tensor(Communicator& comm, torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum);

/// Reduce-scatter of a contiguous 1-D tensor: `full` has size() * shard.numel() elements (pad
/// uneven sizes); `shard` receives this rank's block of the sum (or max/min) over ranks. Half
/// types are reduced in float32 unless NCCL reduces them on the device.
void reduce_scatter_tensor(Communicator& comm, const torch::Tensor& full, torch::Tensor& shard,
                           ReduceOp op = ReduceOp::kSum);
/// All-gather of contiguous 1-D tensors: `full` (size() * shard.numel() elements) receives every
/// rank's `shard` in rank order. `shard` may be the view of `full` at rank() * shard.numel().
void allgather_tensor(Communicator& comm, const torch::Tensor& shard, torch::Tensor& full);

/// Flat buckets over a fixed list of tensors (e.g. every parameter's .grad()). Tensors are
/// grouped by dtype and device, packed in order into buckets of at most bucket_bytes (a tensor
/// larger than that gets a bucket of its own), all-reduced one bucket per call, and scattered back.
/// Buckets are reduced one after another, so the buckets of a group share one scratch buffer the
/// size of its largest bucket (not a second copy of every gradient); a tensor alone in its bucket
/// is reduced in place, and no call moves more than bucket_bytes.
class GradientBucketer {
 public:
  GradientBucketer(std::vector<torch::Tensor> tensors, int64_t bucket_bytes);
  /// Sum every tensor over ranks in place, then multiply by `scale` (1 for sums of local shares).
  void allreduce(Communicator& comm, double scale = 1.0) { allreduce(comm, tensors_, scale); }
  /// The same over another list with the same shapes and dtypes in the same order (e.g. the
  /// parameters' current .grad() tensors, which autograd may have replaced since construction).
  void allreduce(Communicator& comm, const std::vector<torch::Tensor>& tensors, double scale = 1.0);
  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  int64_t total_bytes() const { return total_bytes_; }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into tensors_
    torch::Tensor flat;           // a view of its group's scratch buffer, reused across steps
  };
  std::vector<torch::Tensor> tensors_;
  std::vector<Bucket> buckets_;
  int64_t total_bytes_ = 0;
  int64_t bucket_bytes_ = 0;
};

}  // namespace unl::comm
