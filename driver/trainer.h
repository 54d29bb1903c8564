// One optimiser step across ranks, method-agnostic: this rank's rows are collated, the method's
// normalisers are summed over ranks first, the local loss share is back-propagated, gradients are
// all-reduced in buckets, and every rank agrees whether the step was finite before Adam applies it.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/tensor_ops.h"
#include "driver/job_config.h"
#include "driver/run_hooks.h"
#include "engine/sharded_adam.h"
#include "model/causal_lm.h"
#include "unlearn/adam.h"
#include "unlearn/method.h"

namespace unl::driver {

/// This rank's rows of one global batch: the samples' ids, their forget rows and (for methods
/// with neighbours) the neighbour row of each, in the same order. May be empty (a rank with no
/// work still joins every collective).
struct LocalRows {
  std::vector<int64_t> ids;
  std::vector<const std::vector<int64_t>*> forget, neighbours;
  /// Leading prompt tokens of each forget / neighbour row (question/answer and chat data: never
  /// targets); empty when no row has a prompt.
  std::vector<int64_t> forget_prompt, neighbour_prompt;
};

/// What a step reports: each loss term summed over ranks (rank 0 only), the global token count,
/// and the cross-rank verdict on finiteness.
struct StepStats {
  std::map<std::string, double> terms;
  double tokens = 0;
  bool finite = true;
};

/// Gradients are summed in fp32 whatever the compute dtype: under bf16-mixed the bf16 gradient of
/// each backward is added into fp32 buffers (the masters' .grad()) and the model's bf16 gradients
/// are zeroed, so accumulation and the all-reduce never round to bf16.
///
/// Two ways to form the global gradient:
///  - default: one forward/backward over this rank's rows, fp32 gradients summed over ranks by the
///    communicator (equal to the one-process gradient up to float summation order);
///  - deterministic (runtime.deterministic_reductions): each sample's gradient alone, rounded to a
///    multiple of 2^-40 and summed as 64-bit integers on the rank and across ranks. Integer sums
///    do not depend on order, and a sample's gradient does not depend on which rank computes it,
///    so the result is bit-identical on any number of ranks.
struct TrainerOptions {
  OptimConfig optim;
  double bucket_mb = 25;
  int64_t pad_id = 0;
  torch::Device device = torch::kCPU;
  bool deterministic = false;  // runtime.deterministic_reductions
  int64_t batch_size = 1;      // samples per global batch (bounds the fixed-point sums)
  /// train.precision = bf16-mixed: the model is cast to bfloat16 for forward and backward; fp32
  /// master copies of its parameters (taken before the cast, so an fp32 model loses nothing)
  /// receive the gradients (accumulated and reduced in fp32) and Adam's update, and are copied
  /// back into the bf16 model after every step.
  bool bf16_mixed = false;
  /// train.micro_batch_size: this rank's share of a global batch goes through forward and
  /// backward in micro-batches of at most this many samples, gradients accumulating (in fp32)
  /// before the step's one all-reduce; <= 0: the whole share at once. Every micro-batch divides
  /// by the same global counts, so the gradient is the un-split one (to float rounding).
  int64_t micro_batch_size = 0;
  /// train.activation_checkpointing: transformer blocks keep only their inputs during forward
  /// and recompute their activations in backward.
  bool activation_checkpointing = false;
  /// train.zero_stage: 0 replicates Adam on every rank; 1 keeps fp32 master weights and Adam
  /// moments only for this rank's slice of the flat layout (gradients all-reduced, the slice
  /// read from them); 2 also reduce-scatters the gradients after every micro-batch's backward, so
  /// no full fp32 gradient buffer exists. After each step the slices are all-gathered into the
  /// (replicated) model. Same arithmetic as stage 0: the same weights to float rounding, bit for
  /// bit under deterministic reductions.
  int zero_stage = 0;
  int world = 1;  // the communicator's size and this rank (zero_stage >= 1 slices by them)
  int rank = 0;
};

class Trainer {
 public:
  Trainer(model::CausalLMImpl& model, model::CausalLMImpl* reference, std::unique_ptr<unlearn::Method> method,
          const TrainerOptions& options);

  /// Collective. Gradients of step `step` (1-based) summed over ranks into the parameters'
  /// .grad(); the optimiser is not touched.
  StepStats compute_gradients(comm::Communicator& comm, const LocalRows& rows, int64_t step, RunHooks& hooks);
  /// Adam on the reduced gradients (the fp32 masters under bf16-mixed, then copied into the
  /// model). Collective under train.zero_stage >= 1 (the updated slices are all-gathered).
  void apply(comm::Communicator& comm);

  const unlearn::Method& method() const { return *method_; }
  /// The model's trainable parameters (bfloat16 under bf16-mixed), in hf_state_dict order.
  const std::vector<torch::Tensor>& params() const { return params_; }
  bool bf16_mixed() const { return bf16_mixed_; }
  int zero_stage() const { return zero_stage_; }
  /// bf16-mixed at stage 0: the fp32 master weights by parameter name; empty for fp32 and for
  /// stage >= 1 (whose masters are slices: see master_weights).
  const unlearn::NamedTensors& masters() const { return masters_; }
  /// After the masters were overwritten (resume): copy them into the model.
  void refresh_model_from_masters();

  // Checkpoints hold the replicated format at every stage, so any checkpoint resumes at any
  // world size and stage: sharded state is assembled at `root` on the way out and each rank
  // takes its slice on the way in.
  /// Collective. Adam's moments under "exp_avg.<name>" / "exp_avg_sq.<name>", full, at `root`
  /// (other ranks: empty at stage >= 1).
  unlearn::NamedTensors optimizer_state(comm::Communicator& comm, int root) const;
  /// Collective. bf16-mixed: the fp32 master weights by name, full, at `root`; fp32: empty.
  unlearn::NamedTensors master_weights(comm::Communicator& comm, int root) const;
  int64_t optimizer_steps() const;
  /// Restores masters and Adam from full tensors; `weight(name)` is a parameter's most precise
  /// saved value. Validates the optimiser state before changing it.
  void load_optimizer(const std::function<const torch::Tensor&(const std::string&)>& weight,
                      const unlearn::NamedTensors& state, int64_t steps);

 private:
  unlearn::Batch collate(const LocalRows& rows) const;
  void zero_grads();
  /// After each backward: under bf16-mixed, moves the bf16 gradients into the fp32 sums; at
  /// zero_stage 2, reduce-scatters them into this rank's slice (collective).
  void accumulate_backward(comm::Communicator& comm);
  /// The micro-batches of this rank's rows (at least one, maybe empty), collated.
  std::vector<unlearn::Batch> micro_batches(const LocalRows& rows) const;
  /// Sum of Method::count over the micro-batches, then over ranks.
  unlearn::TermCounts global_counts(comm::Communicator& comm, const std::vector<unlearn::Batch>& batches,
                                    StepStats& stats) const;
  /// Default path: local loss terms (summed over micro-batches); gradients reduced.
  std::map<std::string, double> batched_backward(comm::Communicator& comm, const std::vector<unlearn::Batch>& batches,
                                                 const unlearn::TermCounts& counts, int64_t step, RunHooks& hooks);
  /// Deterministic path: per-sample terms (by id); gradients reduced exactly.
  std::vector<std::pair<int64_t, std::map<std::string, double>>> per_sample_backward(
      comm::Communicator& comm, const LocalRows& rows, const unlearn::TermCounts& counts, int64_t step,
      RunHooks& hooks);

  model::CausalLMImpl& model_;
  model::CausalLMImpl* reference_;
  std::unique_ptr<unlearn::Method> method_;
  std::vector<torch::Tensor> params_;
  unlearn::NamedTensors masters_;          // bf16-mixed only
  std::vector<torch::Tensor> reduce_grads_;  // what is reduced and what Adam reads: fp32
  std::unique_ptr<unlearn::Adam> adam_;             // zero_stage 0
  std::unique_ptr<engine::ShardedAdam> sharded_;    // zero_stage >= 1
  int zero_stage_ = 0;
  std::unique_ptr<comm::GradientBucketer> bucketer_;
  int64_t pad_id_;
  torch::Device device_;
  bool deterministic_;
  int64_t batch_size_;
  bool bf16_mixed_;
  int64_t micro_batch_size_;
  bool activation_checkpointing_;
  std::vector<torch::Tensor> fixed_;  // deterministic: int64 gradient sums in units of 2^-40
  std::unique_ptr<comm::GradientBucketer> fixed_bucketer_;
};

}  // namespace unl::driver
