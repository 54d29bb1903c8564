// Flag tables, the stop rule and threshold calibration.
#include <gtest/gtest.h>

#include "common/error.h"
#include "unlearn/refinement.h"

namespace unl::unlearn {
namespace {

SampleMetrics m(double ma, double el, double bleu) {
  SampleMetrics s;
  s.ma = ma, s.el = el, s.bleu = bleu;
  return s;
}

TEST(Refinement, OfficialRuleIsBleuOrBertScoreBelowThreshold) {
  Thresholds t;  // rule official, bleu 0.01, bertscore 0.3 (the official ICU check)
  EXPECT_EQ(t.rule, ForgetRule::kOfficial);
  EXPECT_TRUE(is_forgotten(m(0.99, 0.9, 0.0099), t));   // BLEU alone decides: EL and MA do not
  EXPECT_FALSE(is_forgotten(m(0.0, 0.0, 0.01), t));     // at the threshold: not below
  SampleMetrics s = m(0.9, 0.9, 0.5);
  EXPECT_FALSE(is_forgotten(s, t));                     // no BERTScore computed (-1): BLEU only
  s.bertscore = 0.29;
  EXPECT_TRUE(is_forgotten(s, t));                      // BERTScore-F1 < 0.3 is enough
  s.bertscore = 0.3;
  EXPECT_FALSE(is_forgotten(s, t));
  EXPECT_EQ(parse_forget_rule("all"), ForgetRule::kAll);
  EXPECT_EQ(parse_forget_rule("official"), ForgetRule::kOfficial);
  EXPECT_THROW(parse_forget_rule("any"), UsageError);
}

TEST(Refinement, AllRuleNeedsEveryEnabledCriterionBelowThreshold) {
  Thresholds t;  // ma 0.5994, el 0.0499, bleu 0.01
  t.rule = ForgetRule::kAll;
  struct Row {
    SampleMetrics metrics;
    bool forgotten;
  };
  const Row table[] = {
      {m(0.1, 0.01, 0.001), true},   {m(0.7, 0.01, 0.001), false}, {m(0.1, 0.2, 0.001), false},
      {m(0.1, 0.01, 0.5), false},    {m(0.5994, 0.0, 0.0), false},  // at the threshold: not below
      {m(0.5993, 0.0498, 0.0099), true},
  };
  for (const auto& r : table) EXPECT_EQ(is_forgotten(r.metrics, t), r.forgotten) << r.metrics.ma << " " << r.metrics.el;
  t.use_bleu = false;
  EXPECT_TRUE(is_forgotten(m(0.1, 0.01, 0.9), t));
  t.use_el = false;
  EXPECT_TRUE(is_forgotten(m(0.1, 0.9, 0.9), t));
  t.use_ma = false;  // nothing enabled: refinement off, nothing is dropped
  EXPECT_FALSE(is_forgotten(m(0.0, 0.0, 0.0), t));
}

TEST(Refinement, RecomputeLetsSamplesComeBackPermanentDoesNot) {
  Thresholds t;
  const std::vector<uint8_t> prev = {1, 0, 1, 0};
  const std::vector<SampleMetrics> now = {m(0.9, 0.5, 0.5), m(0.9, 0.5, 0.5), m(0, 0, 0), m(0, 0, 0)};
  EXPECT_EQ(update_flags(prev, now, t, RefinementMode::kRecompute), (std::vector<uint8_t>{1, 1, 0, 0}));
  EXPECT_EQ(update_flags(prev, now, t, RefinementMode::kPermanent), (std::vector<uint8_t>{1, 0, 0, 0}));
  EXPECT_THROW(update_flags({1}, now, t, RefinementMode::kRecompute), Error);
  EXPECT_EQ(parse_refinement("permanent"), RefinementMode::kPermanent);
  EXPECT_EQ(parse_refinement("recompute"), RefinementMode::kRecompute);
  EXPECT_THROW(parse_refinement("sometimes"), UsageError);
}

TEST(StopRule, Table) {
  Thresholds t;
  const std::vector<SampleMetrics> low = {m(0.5, 0.04, 1), m(0.6, 0.05, 1)};   // means 0.55, 0.045
  const std::vector<SampleMetrics> high = {m(0.5, 0.04, 1), m(0.8, 0.05, 1)};  // mean MA 0.65
  const std::vector<SampleMetrics> el_high = {m(0.1, 0.04, 0), m(0.1, 0.07, 0)};  // mean EL 0.055
  EXPECT_EQ(stop_rule(low, {1, 1}, t, 1, 30), StopReason::kThresholdsMet);
  EXPECT_EQ(stop_rule(high, {1, 1}, t, 1, 30), StopReason::kContinue);
  EXPECT_EQ(stop_rule(el_high, {1, 1}, t, 1, 30), StopReason::kContinue);
  EXPECT_EQ(stop_rule(high, {0, 0}, t, 1, 30), StopReason::kNoActiveSamples);
  EXPECT_EQ(stop_rule(high, {0, 1}, t, 30, 30), StopReason::kMaxEpochs);
  EXPECT_EQ(stop_rule(high, {0, 1}, t, 1000, 0), StopReason::kContinue);  // no cap
  EXPECT_EQ(stop_rule(low, {0, 0}, t, 30, 30), StopReason::kThresholdsMet);  // first reason wins
  t.use_ma = false;
  EXPECT_EQ(stop_rule(high, {1, 1}, t, 1, 30), StopReason::kThresholdsMet);
  t.use_el = false;  // neither set-level criterion: only the other reasons stop
  EXPECT_EQ(stop_rule(low, {1, 1}, t, 1, 30), StopReason::kContinue);
  EXPECT_EQ(stop_reason_name(StopReason::kThresholdsMet), "thresholds met");
  EXPECT_EQ(stop_reason_name(StopReason::kMaxEpochs), "max epochs");
}

TEST(Calibration, MeansOfTheHeldOutSet) {
  Thresholds base;
  base.bleu = 0.02;
  auto t = calibrate_thresholds({m(0.2, 0.01, 0), m(0.4, 0.03, 0), m(0.3, 0.02, 0)}, base);
  EXPECT_NEAR(t.ma, 0.3, 1e-12);
  EXPECT_NEAR(t.el, 0.02, 1e-12);
  EXPECT_EQ(t.bleu, 0.02);
  EXPECT_THROW(calibrate_thresholds({}, base), Error);
}

}  // namespace
}  // namespace unl::unlearn
