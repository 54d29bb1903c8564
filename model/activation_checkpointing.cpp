// Activation checkpointing: a custom autograd Function whose forward runs a block under no-grad
// and whose backward recomputes it with grad and differentiates the recomputation.
#include "model/activation_checkpointing.h"

#include "common/error.h"

namespace unl::model {
namespace {

thread_local bool checkpointing_on = false;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The block closure travels to backward inside the autograd context (as an IValue capsule).
struct BlockHolder : torch::CustomClassHolder {
  explicit BlockHolder(BlockFn f) : fn(std::move(f)) {}
  BlockFn fn;
};

class CheckpointFn : public torch::autograd::Function<CheckpointFn> {
 public:
  // Inputs: x, then every parameter (each a differentiable input, so its gradient is returned
  // through the graph and accumulated by autograd as without checkpointing), then the block.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, at::TensorList params,
                               c10::intrusive_ptr<BlockHolder> block) {
    std::vector<torch::Tensor> saved = {x};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["block"] = c10::IValue::make_capsule(block);
    torch::NoGradGuard no_grad;
    return block->fn(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    auto capsule = ctx->saved_data["block"].toCapsule();
    auto* block = static_cast<BlockHolder*>(capsule.get());
    const bool x_needs = saved[0].requires_grad();
    torch::Tensor x = saved[0].detach().requires_grad_(x_needs);
    torch::Tensor out;
    {
      torch::AutoGradMode grad_on(true);
      out = block->fn(x);
    }
    // What to differentiate: x (if it needs a gradient) and the parameters that are trainable.
    variable_list inputs;
    std::vector<size_t> slot;  // position in the returned list of each input
    if (x_needs) inputs.push_back(x), slot.push_back(0);
    for (size_t i = 1; i < saved.size(); ++i)
      if (saved[i].requires_grad()) inputs.push_back(saved[i]), slot.push_back(i);
    variable_list result(saved.size() + 1);  // + the block closure, which has no gradient
    if (inputs.empty()) return result;
    auto grads = torch::autograd::grad({out}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t k = 0; k < inputs.size(); ++k) result[slot[k]] = grads[k];
    return result;
  }
};

}  // namespace

ActivationCheckpointing::ActivationCheckpointing(bool on) : previous_(checkpointing_on) { checkpointing_on = on; }
ActivationCheckpointing::~ActivationCheckpointing() { checkpointing_on = previous_; }
bool ActivationCheckpointing::active() { return checkpointing_on && torch::GradMode::is_enabled(); }

torch::Tensor checkpoint_block(const BlockFn& block, const torch::Tensor& x, const std::vector<torch::Tensor>& params) {
  UNL_CHECK(block != nullptr, "checkpoint_block needs a block function", "pass the block's forward as a closure");
  return CheckpointFn::apply(x, at::TensorList(params), c10::make_intrusive<BlockHolder>(block));
}

}  // namespace unl::model
