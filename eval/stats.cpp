// ROC AUC by rank sums (Mann-Whitney U with midranks for ties), PrivLeak, mean.
#include "eval/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace unl::eval {

double roc_auc(const std::vector<double>& forget, const std::vector<double>& holdout) {
  const size_t n0 = forget.size(), n1 = holdout.size();
  if (n0 == 0 || n1 == 0) return std::numeric_limits<double>::quiet_NaN();
  // (score, is_holdout), sorted by score; U = sum of holdout midranks - n1 (n1 + 1) / 2.
  std::vector<std::pair<double, int>> all;
  all.reserve(n0 + n1);
  for (double s : forget) all.emplace_back(s, 0);
  for (double s : holdout) all.emplace_back(s, 1);
  std::sort(all.begin(), all.end());
  double rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double midrank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (all[k].second == 1) rank_sum += midrank;
    i = j;
  }
  const double u = rank_sum - 0.5 * static_cast<double>(n1) * static_cast<double>(n1 + 1);
  return u / (static_cast<double>(n0) * static_cast<double>(n1));
}

double priv_leak(double auc, double retain_auc) { return (auc - retain_auc) / retain_auc * 100.0; }

double mean(const std::vector<double>& values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : values) s += v;
  return s / static_cast<double>(values.size());
}

}  // namespace unl::eval
