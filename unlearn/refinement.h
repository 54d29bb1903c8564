// Iterative refinement: which forget samples stay active after an epoch, and when the job stops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/metrics.h"

namespace unl::unlearn {

/// Which per-sample verdict decides that a sample is forgotten.
enum class ForgetRule {
  kOfficial,  // the official ICU check: BLEU < bleu, or (when computed) BERTScore-F1 < bertscore
  kAll,       // every enabled criterion below its threshold (BLEU, EL_n, MA)
};
ForgetRule parse_forget_rule(const std::string& name);  // "official" | "all"

struct Thresholds {
  ForgetRule rule = ForgetRule::kOfficial;
  double ma = 0.5994;      // tau_MA (paper default)
  double el = 0.0499;      // tau_EL (paper default)
  double bleu = 0.01;      // a sample with BLEU-4 below this is forgotten (official ICU)
  double bertscore = 0.3;  // ... or with BERTScore-F1 below this (official ICU, when configured)
  bool use_bleu = true;    // rule kAll: which criteria take part
  bool use_el = true;
  bool use_ma = true;
};

enum class RefinementMode { kRecompute, kPermanent };
RefinementMode parse_refinement(const std::string& name);  // "recompute" | "permanent"

/// A sample stays active while it is not yet forgotten. kOfficial: forgotten when BLEU < bleu or,
/// when a BERTScore was computed (bertscore >= 0), BERTScore-F1 < bertscore. kAll: forgotten when
/// every enabled criterion is below its threshold (BLEU < bleu, EL_n < el, MA < ma).
bool is_forgotten(const SampleMetrics& m, const Thresholds& t);

/// New active flags. kRecompute: flag = !forgotten for every sample (a sample may come back);
/// kPermanent: a sample once dropped stays dropped.
std::vector<uint8_t> update_flags(const std::vector<uint8_t>& previous,
                                  const std::vector<SampleMetrics>& metrics, const Thresholds& t,
                                  RefinementMode mode);

enum class StopReason { kContinue, kThresholdsMet, kNoActiveSamples, kMaxEpochs };
std::string stop_reason_name(StopReason reason);

/// Set-level rule: stop when mean MA < tau_MA and mean EL_n < tau_EL over the whole forget set,
/// or no sample is active, or epochs_done >= max_epochs (max_epochs <= 0: no cap).
StopReason stop_rule(const std::vector<SampleMetrics>& all, const std::vector<uint8_t>& flags,
                     const Thresholds& t, int64_t epochs_done, int64_t max_epochs);

/// Thresholds calibrated from a held-out set the model never saw: mean MA and mean EL_n there.
Thresholds calibrate_thresholds(const std::vector<SampleMetrics>& heldout, Thresholds base);

}  // namespace unl::unlearn
