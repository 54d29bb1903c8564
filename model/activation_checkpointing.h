// Activation checkpointing per transformer block: while the mode is on, a block keeps only its
// input during forward and recomputes its activations in backward. LibTorch's C++ API has no
// torch.utils.checkpoint; this is its equivalent, returning parameter gradients through the graph.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace unl::model {

/// Turns activation checkpointing on (or off) for the forwards made on this thread while the
/// guard lives, like torch::NoGradGuard does for autograd. The mode is read when a model's
/// forward runs; the backward of a checkpointed block needs no mode.
class ActivationCheckpointing {
 public:
  explicit ActivationCheckpointing(bool on);
  ~ActivationCheckpointing();
  ActivationCheckpointing(const ActivationCheckpointing&) = delete;
  ActivationCheckpointing& operator=(const ActivationCheckpointing&) = delete;
  /// Whether a block run now should be checkpointed: the mode is on and autograd records.
  static bool active();

 private:
  bool previous_;
};

/// A block as a function of its hidden-state input; everything else it reads (attention masks,
/// rotary tables, its own parameters) must stay unchanged until backward.
using BlockFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// Runs block(x) without recording its graph, and records one node whose backward re-runs
/// block(x) with autograd on and returns the gradients of x and of `params` (the block's
/// trainable parameters) through torch::autograd::grad. The recomputation repeats the forward's
/// operations exactly, so the gradients are the non-checkpointed ones (bit-identical on CPU).
torch::Tensor checkpoint_block(const BlockFn& block, const torch::Tensor& x, const std::vector<torch::Tensor>& params);

}  // namespace unl::model
