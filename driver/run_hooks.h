// The one seam through which tests reach into a running job: fault injection (a crash while a
// checkpoint is written, a NaN loss on one rank) and observation (the reduced gradient of every
// step). The run loop calls these at fixed points; production runs use the no-op hooks.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "unlearn/method.h"

namespace unl::driver {

class RunHooks {
 public:
  virtual ~RunHooks() = default;
  /// Rank 0, just before it writes the checkpoint of `step` into `checkpoint_dir`.
  virtual void before_checkpoint_write(const std::string& checkpoint_dir, int64_t step) {}
  /// Every rank, after its local loss of step `step` (1-based) is formed and before backward.
  virtual void after_local_loss(int64_t step, int rank, int world_size, unlearn::StepLoss& loss) {}
  /// Every rank, once the gradients of step `step` are reduced (the sum over ranks), before the
  /// optimiser uses them. `grads` are in hf_state_dict order.
  virtual void after_gradients_reduced(int64_t step, const std::vector<torch::Tensor>& grads) {}
};

/// Hooks that do nothing.
RunHooks& no_hooks();

/// The fault injections the end-to-end tests drive through the real binary, read once from the
/// environment when the process starts (never inside the loop):
///   UNL_TEST_CRASH_IN_CHECKPOINT=N  rank 0 dies like a killed writer while writing step N's
///                                   checkpoint, leaving a truncated temporary file behind;
///   UNL_TEST_NAN_AT_STEP=N          the last rank's loss of step N turns NaN, once per process.
/// Returns no-op hooks when neither is set.
std::unique_ptr<RunHooks> hooks_from_environment();

}  // namespace unl::driver
