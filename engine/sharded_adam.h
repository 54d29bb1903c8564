// ZeRO stages 1 and 2: Adam's fp32 master weights and moments exist only for this rank's slice of
// the flat parameter layout (shard::FlatLayout), and at stage 2 so does the gradient. The model's
// parameters stay replicated (stage 3 would shard them too): after each step every rank's updated
// slice is all-gathered into them, cast to their dtype (float32, or bfloat16 under bf16-mixed).
//
// The arithmetic is unlearn::Adam's, element by element, on the slice: for the same gradient the
// weights are those of replicated Adam. Collectives move one bucket per call: chunk k of every
// rank's slice together, so no buffer larger than world x bucket is ever allocated.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "shard/flat_layout.h"
#include "unlearn/adam.h"

namespace unl::engine {

class ShardedAdam {
 public:
  /// `weights`: every trainable parameter's current value by name, in layout order (read once, to
  /// fill this rank's fp32 master slice; an fp32 copy of a bf16 model loses nothing it had);
  /// `targets`: the model's parameters, same order, which receive the gathered weights.
  /// `bucket_bytes`: the fp32 bytes of one rank's chunk per collective.
  ShardedAdam(const unlearn::NamedTensors& weights, std::vector<torch::Tensor> targets, unlearn::AdamOptions options,
              int world, int rank, int64_t bucket_bytes);

  const shard::FlatLayout& layout() const { return layout_; }
  int world() const { return world_; }
  int rank() const { return rank_; }
  /// This rank's slice [begin, end) of the padded flat space.
  std::pair<int64_t, int64_t> range() const { return layout_.shard_range(world_, rank_); }

  /// The fp32 gradient of this rank's slice (what step() reads).
  torch::Tensor& grad() { return grad_; }
  void zero_grad() { grad_.zero_(); }
  /// Stage 1: copies this rank's slice of gradients already summed over ranks (full tensors in
  /// layout order, any floating dtype) into grad().
  void take_slice(const std::vector<torch::Tensor>& reduced);
  /// Stage 2: sums `local` (full tensors in layout order: float32, bfloat16 or int64) over ranks
  /// and returns only this rank's slice of the sum, in `dtype` (float32 arithmetic for floating
  /// inputs, exact int64 sums for int64). Collective.
  torch::Tensor reduce_scatter(comm::Communicator& comm, const std::vector<torch::Tensor>& local,
                               torch::Dtype dtype) const;

  /// Adam on the slice, then the all-gather of the updated weights into the targets. Collective.
  void step(comm::Communicator& comm);
  int64_t steps() const { return adam_->steps(); }
  void set_lr(double lr) { adam_->set_lr(lr); }

  /// The full optimiser state under replicated Adam's names ("exp_avg.<name>",
  /// "exp_avg_sq.<name>"), assembled at `root` (empty elsewhere). Collective.
  unlearn::NamedTensors gather_state(comm::Communicator& comm, int root) const;
  /// The full fp32 master weights by parameter name, assembled at `root`. Collective.
  unlearn::NamedTensors gather_masters(comm::Communicator& comm, int root) const;
  /// Restores from full (replicated-format) tensors: each rank copies its own slice, so a state
  /// written at any world size or stage loads at any other. `weight(name)` gives a parameter's
  /// most precise saved value; `state` holds exp_avg./exp_avg_sq. tensors and nothing else.
  /// Validates everything before changing anything; throws unl::Error naming the first problem.
  void load(const std::function<const torch::Tensor&(const std::string&)>& weight, const unlearn::NamedTensors& state,
            int64_t steps);

 private:
  /// Elements of one rank's chunk per collective.
  int64_t chunk_elems() const;
  /// Copies flat range [begin, begin + out.numel()) of `tensors` into `out` (padding: zero).
  void pack(const std::vector<torch::Tensor>& tensors, int64_t begin, torch::Tensor out) const;
  /// Copies `in` into flat range [begin, begin + in.numel()) of `tensors` (padding skipped).
  void unpack(const torch::Tensor& in, int64_t begin, std::vector<torch::Tensor>& tensors) const;
  /// Assembles full tensors (shapes of the parameters) at `root` from every rank's slice of `slice`.
  std::vector<torch::Tensor> gather_full(comm::Communicator& comm, const torch::Tensor& slice, int root) const;

  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<torch::Tensor> targets_;
  shard::FlatLayout layout_;
  int world_, rank_;
  int64_t bucket_bytes_;
  torch::Tensor master_, grad_;  // this rank's slice, fp32
  std::unique_ptr<unlearn::Adam> adam_;  // over {"slice": master_}
};

}  // namespace unl::engine
