// Activation checkpointing per transformer block: while the mode is on, a block keeps only its
// input during forward and recomputes its activations in backward. LibTorch's C++ API has no
// torch.utils.checkpoint; this is its equivalent, returning parameter gradients through the graph.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace unl::model {

struct KVCache;

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

/// The transformer-block loop every family shares: x goes through blocks[0], blocks[1], ... as
/// x = run(*blocks[i], x, cache, i), where `blocks` holds TORCH_MODULE holders and `run` forwards
/// one block (capturing by value what else it reads, e.g. the attention context). When the mode is
/// active and no KV cache is in use, each block is run through checkpoint_block with its own
/// parameters, and `run` (copied into the recorded node) is called again in backward.
template <typename Holder, typename Run>
torch::Tensor forward_blocks(const std::vector<Holder>& blocks, torch::Tensor x, KVCache* cache, const Run& run) {
  const bool checkpoint = cache == nullptr && ActivationCheckpointing::active();
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (!checkpoint) {
      x = run(*blocks[i].ptr(), x, cache, i);
      continue;
    }
    auto block = blocks[i].ptr();
    x = checkpoint_block([block, run, i](const torch::Tensor& y) { return run(*block, y, nullptr, i); }, x,
                         block->parameters());
  }
  return x;
}

}  // namespace unl::model
