// Statistics of evaluation scores (torch-free): ROC AUC between two score sets, MUSE's PrivLeak,
// and means. Scores follow open-unlearning's sign: higher = looks less like a training member.
#pragma once

#include <vector>

namespace unl::eval {

/// ROC AUC of separating `forget` (label 0) from `holdout` (label 1) by score, as
/// sklearn.metrics.roc_auc_score(labels, scores): P(holdout score > forget score) + 0.5 P(tie),
/// over all pairs. 1 = every forget sample looks more like a member than every held-out one;
/// 0.5 = indistinguishable. Sort-based, O(n log n). NaN when either set is empty.
double roc_auc(const std::vector<double>& forget, const std::vector<double>& holdout);

/// MUSE PrivLeak in percent: (auc - retain_auc) / retain_auc * 100, where retain_auc is the same
/// AUC of a model never trained on the forget set. 0 = leaks as much as retraining would.
double priv_leak(double auc, double retain_auc);

/// Two-sample Kolmogorov-Smirnov test, two-sided (scipy.stats.ks_2samp): statistic D = sup |F_x - F_y|
/// and p = P(D >= observed) under the null. Exact (lattice-path probability, as scipy's
/// method='exact') when n_x * n_y <= 10^7, else the asymptotic Kolmogorov distribution. TOFU's
/// forget quality is this p-value between truth ratios of the unlearned and a retain-only model.
struct KsResult {
  double statistic = 0, pvalue = 1;
};
KsResult ks_2samp(std::vector<double> x, std::vector<double> y);

/// Harmonic mean of positive values (0 when any is <= 0, NaN for none): TOFU's model utility.
double harmonic_mean(const std::vector<double>& values);

/// Arithmetic mean (NaN for an empty list), summed in index order so every rank count agrees.
double mean(const std::vector<double>& values);

}  // namespace unl::eval
