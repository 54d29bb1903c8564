// The model runner against goldens from Debian's python3-torch (tests/golden/eval): per-sequence
// MIA scores from random logits, and log-likelihood / greedy generation requests on a table LM
// whose logits Python reproduces exactly. Also: batching does not change any result.
#include <gtest/gtest.h>

#include "eval/runner.h"
#include "tests/unit/eval/golden.h"
#include "tests/unit/unlearn/fake_model.h"

namespace {
using namespace unl::eval;
using unl::eval_golden::goldens;

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<torch::Tensor> r;
  for (const auto& row : rows) r.push_back(torch::tensor(row.get<std::vector<double>>(), torch::kDouble));
  return torch::stack(r);
}

TEST(SequenceScores, MatchPythonGoldens) {
  const auto& g = goldens()["scores"];
  const double k = g["min_k"].get<double>();
  for (const auto& c : g["cases"]) {
    auto logits = matrix(c["logits"]).to(torch::kFloat);  // the goldens' logits are float32 values
    auto s = sequence_scores(logits, c["targets"].get<std::vector<int64_t>>(), k);
    EXPECT_NEAR(s[kLoss], c["loss"].get<double>(), 1e-9);
    EXPECT_NEAR(s[kMinK], c["min_k"].get<double>(), 1e-9);
    EXPECT_NEAR(s[kMinKPlusPlus], c["min_k_plus_plus"].get<double>(), 1e-9);
    EXPECT_NEAR(s[kExactMemorization], c["exact_memorization"].get<double>(), 1e-12);
    EXPECT_NEAR(s[kExtractionStrength], c["extraction_strength"].get<double>(), 1e-12);
    EXPECT_EQ(s[kTokens], static_cast<double>(c["targets"].size()));
  }
}

TEST(SequenceScores, ExtractionStrengthByHand) {
  // argmax of each row is token 0; targets 1 0 0 -> suffix from index 1 is greedy: ES = 1 - 1/3.
  auto logits = torch::tensor({1.0, 0.0, 1.0, 0.0, 1.0, 0.0}).view({3, 2});
  auto s = sequence_scores(logits, {1, 0, 0}, 0.5);
  EXPECT_NEAR(s[kExtractionStrength], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(s[kExactMemorization], 2.0 / 3.0, 1e-12);
  EXPECT_EQ(sequence_scores(logits, {0, 0, 1}, 0.5)[kExtractionStrength], 0.0);
  EXPECT_EQ(sequence_scores(logits, {0, 0, 0}, 0.5)[kExtractionStrength], 1.0);
}

std::shared_ptr<unl::unlearn::testing::TableLMImpl> table_lm() {
  return std::make_shared<unl::unlearn::testing::TableLMImpl>(matrix(goldens()["table_lm"]["cur"]).to(torch::kFloat));
}

TEST(Runner, LoglikMatchesPythonInAnyBatching) {
  auto lm = table_lm();
  const auto& cases = goldens()["table_lm"]["loglik"];
  std::vector<Request> reqs;
  for (const auto& c : cases)
    reqs.push_back({c["context"].get<std::vector<int64_t>>(), c["continuation"].get<std::vector<int64_t>>()});
  RunnerOptions o;
  o.pad_token_id = 0;
  for (int64_t bs : {1, 2, 4}) {
    o.batch_size = bs;
    std::vector<int64_t> lengths;
    for (const auto& r : reqs) lengths.push_back(r.length());
    std::vector<Output> all(reqs.size());
    for (const auto& b : plan_batches(lengths, bs))
      for (auto& out : run_batch(*lm, RequestKind::kLoglik, reqs, b, o)) all.at(out.index) = out;
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_NEAR(all[i].values[0], cases[i]["logprob"].get<double>(), 1e-9) << "request " << i << " batch " << bs;
      EXPECT_EQ(all[i].values[1] > 0.5, cases[i]["greedy"].get<bool>()) << "request " << i;
      EXPECT_EQ(all[i].tokens.size(), reqs[i].continuation.size());
    }
  }
}

TEST(Runner, GreedyGenerationMatchesPython) {
  auto lm = table_lm();
  const auto& cases = goldens()["table_lm"]["generate"];
  std::vector<Request> reqs;
  for (const auto& c : cases) reqs.push_back({c["prompt"].get<std::vector<int64_t>>(), {}});
  RunnerOptions o;
  o.max_new_tokens = 4;
  o.pad_token_id = 0;
  auto out = run_batch(*lm, RequestKind::kGenerate, reqs, {0, 1, 2}, o);
  for (size_t i = 0; i < reqs.size(); ++i)
    EXPECT_EQ(out[i].tokens, cases[i]["tokens"].get<std::vector<int64_t>>()) << "prompt " << i;
}

TEST(Runner, ScoreRequestsEqualSequenceScoresOfTheTable) {
  auto lm = table_lm();
  auto cur = matrix(goldens()["table_lm"]["cur"]).to(torch::kFloat);
  std::vector<Request> reqs = {{{1, 2, 3, 4, 5}, {}}, {{7, 7}, {}}, {{0, 11, 3}, {}}};
  RunnerOptions o;
  auto out = run_batch(*lm, RequestKind::kScore, reqs, {0, 1, 2}, o);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& x = reqs[i].context;
    auto logits = cur.index_select(0, torch::tensor(std::vector<int64_t>(x.begin(), x.end() - 1)));
    auto want = sequence_scores(logits, std::vector<int64_t>(x.begin() + 1, x.end()), o.min_k);
    for (int f = 0; f < kNumScoreFields; ++f) EXPECT_NEAR(out[i].values[f], want[f], 1e-9) << i << " field " << f;
  }
}

TEST(Runner, PlanIsLongestFirstAndCoversEveryRequest) {
  auto plan = plan_batches({3, 9, 3, 1, 9}, 2);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0], (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(plan[1], (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(plan[2], (std::vector<int64_t>{3}));
}
}  // namespace
