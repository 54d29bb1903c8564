// Per-sample flags after each epoch and the set-level stop rule (GUIDE section 4).
#include "unlearn/refinement.h"

#include "common/error.h"

namespace unl::unlearn {

RefinementMode parse_refinement(const std::string& name) {
  if (name == "recompute") return RefinementMode::kRecompute;
  if (name == "permanent") return RefinementMode::kPermanent;
  UNL_USAGE_ERROR("unknown refinement mode '" + name + "'",
                  "use \"recompute\" (flags recomputed every epoch) or \"permanent\"");
}

ForgetRule parse_forget_rule(const std::string& name) {
  if (name == "official") return ForgetRule::kOfficial;
  if (name == "all") return ForgetRule::kAll;
  UNL_USAGE_ERROR("unknown forgetting rule '" + name + "'",
                  "use \"official\" (BLEU or BERTScore below threshold) or \"all\" (every enabled check)");
}

bool is_forgotten(const SampleMetrics& m, const Thresholds& t) {
  if (t.rule == ForgetRule::kOfficial) return m.bleu < t.bleu || (m.bertscore >= 0 && m.bertscore < t.bertscore);
  // With no criterion enabled per-sample refinement is off: nothing is ever dropped.
  if (!t.use_bleu && !t.use_el && !t.use_ma) return false;
  if (t.use_bleu && !(m.bleu < t.bleu)) return false;
  if (t.use_el && !(m.el < t.el)) return false;
  if (t.use_ma && !(m.ma < t.ma)) return false;
  return true;
}

std::vector<uint8_t> update_flags(const std::vector<uint8_t>& previous,
                                  const std::vector<SampleMetrics>& metrics, const Thresholds& t,
                                  RefinementMode mode) {
  UNL_CHECK(previous.size() == metrics.size(),
            "refinement got " + std::to_string(metrics.size()) + " sample metrics for " +
                std::to_string(previous.size()) + " flags",
            "evaluate every forget sample (in flag order) before updating the flags");
  std::vector<uint8_t> flags(previous.size());
  for (size_t i = 0; i < flags.size(); ++i) {
    const bool active = !is_forgotten(metrics[i], t);
    flags[i] = mode == RefinementMode::kPermanent ? (previous[i] && active) : active;
  }
  return flags;
}

std::string stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kContinue: return "continue";
    case StopReason::kThresholdsMet: return "thresholds met";
    case StopReason::kNoActiveSamples: return "no active samples";
    case StopReason::kMaxEpochs: return "max epochs";
  }
  return "unknown";
}

StopReason stop_rule(const std::vector<SampleMetrics>& all, const std::vector<uint8_t>& flags,
                     const Thresholds& t, int64_t epochs_done, int64_t max_epochs) {
  if (!all.empty() && (t.use_ma || t.use_el)) {
    double ma = 0, el = 0;
    for (const auto& m : all) {
      ma += m.ma;
      el += m.el;
    }
    ma /= static_cast<double>(all.size());
    el /= static_cast<double>(all.size());
    // A disabled criterion does not block the stop; at least one must be enabled to stop here.
    if ((!t.use_ma || ma < t.ma) && (!t.use_el || el < t.el)) return StopReason::kThresholdsMet;
  }
  bool any_active = false;
  for (uint8_t f : flags) any_active = any_active || f != 0;
  if (!any_active) return StopReason::kNoActiveSamples;
  if (max_epochs > 0 && epochs_done >= max_epochs) return StopReason::kMaxEpochs;
  return StopReason::kContinue;
}

Thresholds calibrate_thresholds(const std::vector<SampleMetrics>& heldout, Thresholds base) {
  UNL_CHECK(!heldout.empty(), "cannot calibrate thresholds from an empty held-out set",
            "give data.heldout sequences the model never saw, or use the paper's thresholds");
  double ma = 0, el = 0;
  for (const auto& m : heldout) {
    ma += m.ma;
    el += m.el;
  }
  base.ma = ma / static_cast<double>(heldout.size());
  base.el = el / static_cast<double>(heldout.size());
  return base;
}

}  // namespace unl::unlearn
