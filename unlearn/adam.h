// Adam exactly as torch.optim.Adam (no weight decay, no amsgrad) over named parameters, with its
// state exported as named tensors so checkpoints can store and restore it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace unl::unlearn {

/// The ICU defaults (official code: lr 5e-6, betas (0.9, 0.98), eps 1e-8).
struct AdamOptions {
  double lr = 5e-6;
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-8;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (torch's order of operations,
/// so results match torch::optim::Adam bit for bit). One step count for all parameters; a
/// parameter without a gradient is left untouched (its moments too), as torch does.
class Adam {
 public:
  Adam(NamedTensors params, AdamOptions options = {});

  void step();
  /// Zeros gradients in place (keeps the tensors: gradient buckets may alias them).
  void zero_grad();
  int64_t steps() const { return steps_; }
  const AdamOptions& options() const { return options_; }
  void set_lr(double lr) { options_.lr = lr; }

  /// "exp_avg.<name>" and "exp_avg_sq.<name>" for every parameter, in parameter order.
  NamedTensors state() const;
  /// Restores moments (copied into the existing tensors) and the step count. Every expected
  /// name must be present with the parameter's shape, and nothing else; throws unl::Error
  /// naming the first offending tensor.
  void load_state(const NamedTensors& state, int64_t steps);

 private:
  NamedTensors params_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  AdamOptions options_;
  int64_t steps_ = 0;
};

}  // namespace unl::unlearn
