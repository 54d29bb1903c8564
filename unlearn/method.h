// The method seam: ICU and the baselines (GA, GradDiff, NPO) turn a local batch into a loss whose
// gradient, summed over ranks, equals the single-process gradient of the global-batch mean.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "model/causal_lm.h"

namespace unl::unlearn {

/// One rank's share of a global batch. Rows may be zero (a rank with no work this step).
struct Batch {
  torch::Tensor forget_ids, forget_mask;        // [b, T] int64, mask 1 = real token
  torch::Tensor neighbour_ids, neighbour_mask;  // [b, T'] neighbours (ICU) / retain rows (GradDiff)
  /// Optional precomputed P0 for the neighbour rows: theta0's logits or log-probabilities
  /// [b, T', V] (a cache sharded like the samples). When defined ICU uses it instead of running
  /// the reference model on the neighbours.
  torch::Tensor neighbour_reference;
  int64_t rows() const { return forget_ids.defined() ? forget_ids.size(0) : 0; }
};

/// Normalisers of each loss term: token (or sequence) counts. Computed locally from masks before
/// any forward, summed over ranks by the driver, then passed back to loss().
using TermCounts = std::map<std::string, double>;

struct StepLoss {
  torch::Tensor loss;                    // scalar to backward (local share of the global loss)
  std::map<std::string, double> terms;   // local share of each term's global mean (sum over ranks = global value)
};

struct MethodWeights {
  double forget = 1.0;   // w_fgt
  double learn = 0.5;    // w_lrn
  double kl = 1.0;       // w_kl
  double npo_beta = 0.1; // NPO
  double retain = 1.0;   // GradDiff: weight of the descent term on retain rows (TOFU uses 1)
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  /// Whether loss() needs the frozen reference model theta0.
  virtual bool needs_reference() const = 0;
  /// Whether batches need neighbour/retain rows.
  virtual bool needs_neighbours() const = 0;
  /// Local normalisers, e.g. {"forget_tokens": 1234, "neighbour_tokens": 1100}.
  virtual TermCounts count(const Batch& local) const = 0;
  /// The local share of the loss given the global (all-reduced) counts. With zero local rows the
  /// returned loss is an undefined tensor and every term 0: the rank contributes zero gradients.
  virtual StepLoss loss(model::CausalLMImpl& model, model::CausalLMImpl* reference,
                        const Batch& local, const TermCounts& global) const = 0;
};

/// "icu" | "ga" | "graddiff" | "npo"; throws unl::UsageError naming the accepted values.
///   icu:      L = -w_fgt CE(forget) + w_lrn CE(neighbour) + w_kl KL(theta0 || theta on neighbours)
///   ga:       L = -w_fgt CE(forget)                                   (Jang et al.)
///   graddiff: L = -w_fgt CE(forget) + retain CE(neighbour rows = retain rows)
///   npo:      L = (2/beta) mean_seq softplus(beta (log pi_theta(x) - log pi_ref(x)))  (Zhang et al.)
/// Term names reported in StepLoss::terms: "loss", "forget_ce", and per method "neighbour_ce",
/// "kl", "npo". count() keys (always all present, 0 without rows): "forget_tokens",
/// "neighbour_tokens" (icu, graddiff), "forget_sequences" (npo).
std::unique_ptr<Method> make_method(const std::string& name, const MethodWeights& weights);

}  // namespace unl::unlearn
