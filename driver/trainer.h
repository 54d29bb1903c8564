// One optimiser step across ranks, method-agnostic: this rank's rows are collated, the method's
// normalisers are summed over ranks first, the local loss share is back-propagated, gradients are
// all-reduced in buckets, and every rank agrees whether the step was finite before Adam applies it.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/tensor_ops.h"
#include "driver/job_config.h"
#include "driver/run_hooks.h"
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
};

class Trainer {
 public:
  Trainer(model::CausalLMImpl& model, model::CausalLMImpl* reference, std::unique_ptr<unlearn::Method> method,
          const TrainerOptions& options);

  /// Collective. Gradients of step `step` (1-based) summed over ranks into the parameters'
  /// .grad(); the optimiser is not touched.
  StepStats compute_gradients(comm::Communicator& comm, const LocalRows& rows, int64_t step, RunHooks& hooks);
  /// Adam on the reduced gradients.
  void apply() { adam_->step(); }

  const unlearn::Method& method() const { return *method_; }
  unlearn::Adam& optimizer() { return *adam_; }
  const std::vector<torch::Tensor>& params() const { return params_; }

 private:
  unlearn::Batch collate(const LocalRows& rows) const;
  unlearn::TermCounts global_counts(comm::Communicator& comm, const unlearn::Batch& batch, StepStats& stats) const;
  /// Default path: local loss terms; gradients reduced.
  std::map<std::string, double> batched_backward(comm::Communicator& comm, const unlearn::Batch& batch,
                                                 const unlearn::TermCounts& counts, int64_t step, RunHooks& hooks);
  /// Deterministic path: per-sample terms (by id); gradients reduced exactly.
  std::vector<std::pair<int64_t, std::map<std::string, double>>> per_sample_backward(
      comm::Communicator& comm, const LocalRows& rows, const unlearn::TermCounts& counts, int64_t step,
      RunHooks& hooks);

  model::CausalLMImpl& model_;
  model::CausalLMImpl* reference_;
  std::unique_ptr<unlearn::Method> method_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<unlearn::Adam> adam_;
  std::unique_ptr<comm::GradientBucketer> bucketer_;
  int64_t pad_id_;
  torch::Device device_;
  bool deterministic_;
  int64_t batch_size_;
  std::vector<torch::Tensor> fixed_;  // deterministic: int64 gradient sums in units of 2^-40
  std::unique_ptr<comm::GradientBucketer> fixed_bucketer_;
};

}  // namespace unl::driver
