// ROC AUC against sklearn's roc_auc_score (goldens) and a brute-force pair count; PrivLeak.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "eval/stats.h"
#include "tests/unit/eval/golden.h"

namespace {
using namespace unl::eval;

// P(holdout > forget) + 0.5 P(tie) over all pairs, counted directly.
double brute_auc(const std::vector<double>& f, const std::vector<double>& h) {
  double s = 0;
  for (double a : f)
    for (double b : h) s += b > a ? 1.0 : b == a ? 0.5 : 0.0;
  return s / (static_cast<double>(f.size()) * static_cast<double>(h.size()));
}

TEST(RocAuc, MatchesSklearnGoldens) {
  for (const auto& c : unl::eval_golden::goldens()["auc"]) {
    auto f = c["forget"].get<std::vector<double>>(), h = c["holdout"].get<std::vector<double>>();
    EXPECT_NEAR(roc_auc(f, h), c["auc"].get<double>(), 1e-12) << c.dump();
  }
}

TEST(RocAuc, MatchesBruteForcePairCountWithTies) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::uniform_int_distribution<int> size(1, 40), level(0, trial % 5 + 1);
    std::vector<double> f(size(rng)), h(size(rng));
    for (auto& x : f) x = level(rng);
    for (auto& x : h) x = level(rng) * 0.5;
    EXPECT_NEAR(roc_auc(f, h), brute_auc(f, h), 1e-12);
  }
}

TEST(RocAuc, PerfectSeparationAndEmptySets) {
  EXPECT_DOUBLE_EQ(roc_auc({1, 2}, {3, 4, 5}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({3, 4, 5}, {1, 2}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({1, 1}, {1}), 0.5);
  EXPECT_TRUE(std::isnan(roc_auc({}, {1})));
}

TEST(PrivLeak, IsRelativeAucDifferenceInPercent) {
  EXPECT_DOUBLE_EQ(priv_leak(0.5, 0.5), 0.0);
  EXPECT_NEAR(priv_leak(0.99, 0.5), 98.0, 1e-12);
  EXPECT_NEAR(priv_leak(0.25, 0.5), -50.0, 1e-12);
}

TEST(Mean, IsPlainAverage) {
  EXPECT_DOUBLE_EQ(mean({1, 2, 6}), 3.0);
  EXPECT_TRUE(std::isnan(mean({})));
}
}  // namespace

namespace {
using namespace unl::eval;

TEST(KsTwoSample, MatchesScipyExact) {
  for (const auto& c : unl::eval_golden::goldens()["ks"]) {
    auto r = ks_2samp(c["x"].get<std::vector<double>>(), c["y"].get<std::vector<double>>());
    EXPECT_NEAR(r.statistic, c["statistic"].get<double>(), 1e-12);
    EXPECT_NEAR(r.pvalue, c["pvalue"].get<double>(), 1e-9) << c["x"].size() << " vs " << c["y"].size();
  }
}

TEST(KsTwoSample, KnownTableValues) {
  // n = m = 5, D = 1 (complete separation): p = 2 / C(10, 5) = 2/252.
  auto r = ks_2samp({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
  EXPECT_DOUBLE_EQ(r.statistic, 1.0);
  EXPECT_NEAR(r.pvalue, 2.0 / 252.0, 1e-12);
  EXPECT_EQ(ks_2samp({1, 2, 3}, {1, 2, 3}).pvalue, 1.0);
}

TEST(HarmonicMean, AsTofuModelUtility) {
  EXPECT_NEAR(harmonic_mean({1, 4, 4}), 2.0, 1e-12);
  EXPECT_EQ(harmonic_mean({0.5, 0.0}), 0.0);
}
}  // namespace
