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

KsResult ks_2samp(std::vector<double> x, std::vector<double> y) {
  KsResult r;
  const int64_t n1 = static_cast<int64_t>(x.size()), n2 = static_cast<int64_t>(y.size());
  if (n1 == 0 || n2 == 0) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  // D in lattice units: h = max |i n2 - j n1| over the merged order (ties advance both samples).
  int64_t i = 0, j = 0, h = 0;
  while (i < n1 || j < n2) {
    const double v = i < n1 && (j >= n2 || x[i] <= y[j]) ? x[i] : y[j];
    while (i < n1 && x[i] == v) ++i;
    while (j < n2 && y[j] == v) ++j;
    h = std::max(h, std::abs(i * n2 - j * n1));
  }
  r.statistic = static_cast<double>(h) / static_cast<double>(n1 * n2);
  if (h == 0) return {0.0, 1.0};
  if (static_cast<double>(n1) * static_cast<double>(n2) <= 1e7) {
    // Probability that a uniformly random monotone path from (0,0) to (n1,n2) keeps
    // |a n2 - b n1| < h at every point; p = 1 - that.
    std::vector<double> row(static_cast<size_t>(n2 + 1), 0.0), next(row.size());
    auto inside = [&](int64_t a, int64_t b) { return std::abs(a * n2 - b * n1) < h; };
    row[0] = 1.0;
    for (int64_t b = 1; b <= n2; ++b) row[b] = inside(0, b) ? row[b - 1] : 0.0;  // first row: counts, all 1
    // Work with path counts scaled per row to avoid overflow: store counts / C(a + b, a).
    // Recurrence on normalised values: f(a,b) = [a f(a-1,b) + b f(a,b-1)] / (a + b).
    for (int64_t a = 1; a <= n1; ++a) {
      next[0] = inside(a, 0) ? row[0] : 0.0;
      for (int64_t b = 1; b <= n2; ++b)
        next[b] = inside(a, b) ? (static_cast<double>(a) * row[b] + static_cast<double>(b) * next[b - 1]) /
                                     static_cast<double>(a + b)
                               : 0.0;
      std::swap(row, next);
    }
    r.pvalue = std::clamp(1.0 - row[n2], 0.0, 1.0);
    return r;
  }
  const double en = std::sqrt(static_cast<double>(n1) * static_cast<double>(n2) / static_cast<double>(n1 + n2));
  const double lambda = (en + 0.12 + 0.11 / en) * r.statistic;
  double q = 0, sign = 1;
  for (int k = 1; k <= 100; ++k, sign = -sign) q += 2 * sign * std::exp(-2.0 * k * k * lambda * lambda);
  r.pvalue = std::clamp(q, 0.0, 1.0);
  return r;
}

double harmonic_mean(const std::vector<double>& values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : values) {
    if (v <= 0) return 0.0;
    s += 1.0 / v;
  }
  return static_cast<double>(values.size()) / s;
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : values) s += v;
  return s / static_cast<double>(values.size());
}

}  // namespace unl::eval
