// TOFU's metrics (torch-free) from per-row log-likelihoods and greedy answers, as open-unlearning
// computes them (src/evals/metrics/memorization.py, privacy.py, utility.py): answer probability,
// truth ratio, ROUGE-L recall, forget quality and model utility. Definitions: docs/evaluation.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/results.h"
#include "eval/task_files.h"

namespace unl::eval {

/// Which TOFU set a task scores. kForget: truth ratio aggregated "closer to 1 is better", forget
/// quality against a retain-only model. kRetain: "true is better", part of model utility.
/// kOptions (TOFU's real authors / world facts): no paraphrase; the answer is the correct option
/// and the perturbed answers the wrong ones; probability normalised over the options.
enum class TofuRole { kForget, kRetain, kOptions };

/// A summed log-probability of an answer given its question and the answer's token count.
struct AnswerLoglik {
  double logprob = 0;
  int64_t tokens = 0;
  /// open-unlearning's avg_loss: -logprob / tokens.
  double avg_loss() const { return -logprob / static_cast<double>(tokens); }
};

/// One row's model outputs: the answer, the paraphrased answer (not for kOptions), each
/// perturbed answer, and the greedy answer as text.
struct TofuRowScores {
  AnswerLoglik answer, paraphrased;
  std::vector<AnswerLoglik> perturbed;
  std::string generation;
};

/// open-unlearning's truth ratio of one row: exp(-mean_i avg_loss(perturbed_i)) /
/// (exp(-avg_loss(correct)) + 1e-10), correct = the paraphrase (kForget, kRetain) or the answer
/// (kOptions). Below 1: the model prefers the correct answer.
double truth_ratio(const TofuRowScores& row, TofuRole role);

/// The metrics of one TOFU task named `name` (the prefix: forget, retain, ra, wf, ...), in order:
/// <name>_Q_A_Prob, <name>_Q_A_PARA_Prob (not kOptions), <name>_Q_A_PERT_Prob,
/// <name>_Q_A_Prob_normalised (kOptions), <name>_truth_ratio, <name>_Q_A_ROUGE, and for kForget
/// with `retain_truth_ratios` the forget quality (named "forget_quality" for the task "forget",
/// else "<name>_forget_quality"): the KS two-sample p-value of this model's truth ratios against
/// the retain-only model's.
std::vector<MetricResult> tofu_metrics(const std::string& name, TofuRole role, const std::vector<TofuDoc>& docs,
                                       const std::vector<TofuRowScores>& rows,
                                       const std::optional<std::vector<double>>& retain_truth_ratios);

/// The names whose agg_value enters model utility, for a task of `role`: <name>_Q_A_Prob (or
/// _Q_A_Prob_normalised for kOptions), <name>_Q_A_ROUGE, <name>_truth_ratio; none for kForget.
std::vector<std::string> tofu_utility_metrics(const std::string& name, TofuRole role);

/// TOFU's model utility: the harmonic mean of the named metrics' agg_values found in `results`
/// (TOFU: the 9 of retain, ra and wf), with the components listed under "components".
/// Empty when no name is found.
std::optional<MetricResult> model_utility(const std::vector<MetricResult>& results, const std::vector<std::string>& names);

/// The per-row truth ratios of metric `metric` (e.g. "forget_truth_ratio") in an eval.json that
/// `unlearn eval` (or open-unlearning) wrote for a retain-only model: value_by_index[*].score in
/// index order, nulls skipped. Throws naming the file and the metric when either is missing.
std::vector<double> read_truth_ratios(const std::string& eval_json, const std::string& metric);

}  // namespace unl::eval
