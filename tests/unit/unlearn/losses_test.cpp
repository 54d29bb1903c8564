// Loss terms against hand-computed values and against a plain log-softmax implementation
// (values and gradients), including padding on either side and empty selections.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "unlearn/losses.h"

namespace unl::unlearn {
namespace {

TEST(TargetPositions, BothTokensMustBeReal) {
  auto mask = torch::tensor({1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1}, torch::kInt64).view({3, 4});
  auto tp = target_positions(mask).to(torch::kInt64);
  auto expected = torch::tensor({1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0}, torch::kInt64).view({3, 4});
  EXPECT_TRUE(torch::equal(tp, expected)) << tp;
  EXPECT_EQ(target_count(mask), 5.0);
  auto per_row = target_counts_per_row(mask);
  EXPECT_EQ(per_row[0].item<int64_t>(), 2);
  EXPECT_EQ(per_row[1].item<int64_t>(), 2);
  EXPECT_EQ(per_row[2].item<int64_t>(), 1);
  EXPECT_EQ(target_count(torch::ones({2, 1}, torch::kInt64)), 0.0);  // one token: no target
}

TEST(TokenCe, HandComputedValue) {
  // p0: softmax [0, ln 3] = [1/4, 3/4], target ids[1] = 1 -> -log(3/4)
  // p1: softmax [0, 0] = [1/2, 1/2], target ids[2] = 0 -> -log(1/2); p2 has no target.
  auto logits = torch::tensor({0.0, std::log(3.0), 0.0, 0.0, 5.0, -5.0}, torch::kFloat).view({1, 3, 2});
  auto ids = torch::tensor({1, 1, 0}, torch::kInt64).view({1, 3});
  auto mask = torch::ones({1, 3}, torch::kInt64);
  EXPECT_NEAR(token_ce_sum(logits, ids, mask).item<double>(), std::log(8.0 / 3.0), 1e-6);
  // Dropping the last token (padding) drops the second target.
  auto mask2 = torch::tensor({1, 1, 0}, torch::kInt64).view({1, 3});
  EXPECT_NEAR(token_ce_sum(logits, ids, mask2).item<double>(), std::log(4.0 / 3.0), 1e-6);
}

TEST(KlTerm, HandComputedValue) {
  // theta p0 -> q = [1/4, 3/4]; reference p0 -> P0 = [1/2, 1/2]: -(.5 log .25 + .5 log .75).
  // theta p1 -> q = [1/2, 1/2]; reference p1 logits [ln 3, 0] -> P0 = [3/4, 1/4]: -log(1/2).
  auto logits = torch::tensor({0.0, std::log(3.0), 0.0, 0.0, 1.0, 2.0}, torch::kFloat).view({1, 3, 2});
  auto ref = torch::tensor({0.0, 0.0, std::log(3.0), 0.0, 7.0, 7.0}, torch::kFloat).view({1, 3, 2});
  auto ids = torch::tensor({0, 1, 0}, torch::kInt64).view({1, 3});
  auto mask = torch::ones({1, 3}, torch::kInt64);
  const double expected = -(0.5 * std::log(0.25) + 0.5 * std::log(0.75)) - std::log(0.5);
  EXPECT_NEAR(kl_term_sum(logits, ref, ids, mask).item<double>(), expected, 1e-6);
  // Log-probabilities as the reference give the same value (softmax is invariant).
  EXPECT_NEAR(kl_term_sum(logits, ref.log_softmax(-1), ids, mask).item<double>(), expected, 1e-6);
  // theta == reference: the term is the reference entropy, and its gradient is zero.
  auto x = ref.clone().requires_grad_(true);
  auto v = kl_term_sum(x, ref, ids, mask);
  v.backward();
  EXPECT_NEAR(v.item<double>(), std::log(2.0) - (0.75 * std::log(0.75) + 0.25 * std::log(0.25)), 1e-6);
  EXPECT_LT(x.grad().abs().max().item<double>(), 1e-6);
}

/// The textbook formulas with autograd's own log_softmax: the independent expectation.
std::pair<torch::Tensor, torch::Tensor> plain_terms(const torch::Tensor& logits, const torch::Tensor& ref,
                                                    const torch::Tensor& ids, const torch::Tensor& mask) {
  const int64_t T = ids.size(1);
  auto logq = logits.log_softmax(-1).narrow(1, 0, T - 1);
  auto next = ids.narrow(1, 1, T - 1);
  auto w = (mask.narrow(1, 0, T - 1) * mask.narrow(1, 1, T - 1)).to(torch::kFloat);
  auto nll = -(logq.gather(2, next.unsqueeze(2)).squeeze(2) * w).sum(1);
  auto p0 = ref.softmax(-1).narrow(1, 0, T - 1);
  auto kl = (-(p0 * logq).sum(2) * w).sum(1);
  return {nll, kl};
}

TEST(TokenTerms, MatchPlainAutogradValuesAndGradients) {
  torch::manual_seed(3);
  const int64_t B = 3, T = 6, V = 11;
  auto base = torch::randn({B, T, V}) * 3;
  auto ref = torch::randn({B, T, V}) * 2;
  auto ids = torch::randint(0, V, {B, T}, torch::kInt64);
  // Right padding, left padding, and a hole.
  auto mask = torch::tensor({1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1}, torch::kInt64).view({B, T});
  auto gn = torch::randn({B}), gk = torch::randn({B});

  auto x1 = base.clone().requires_grad_(true);
  auto mine = token_term_sums(x1, ref, ids, mask);
  ((mine.nll * gn).sum() + (mine.kl * gk).sum()).backward();

  auto x2 = base.clone().requires_grad_(true);
  auto [nll, kl] = plain_terms(x2, ref, ids, mask);
  ((nll * gn).sum() + (kl * gk).sum()).backward();

  EXPECT_TRUE(torch::allclose(mine.nll, nll, 1e-5, 1e-5)) << mine.nll << nll;
  EXPECT_TRUE(torch::allclose(mine.kl, kl, 1e-5, 1e-5)) << mine.kl << kl;
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-5, 1e-6));
  // Positions without a target get exactly zero gradient.
  EXPECT_EQ(x1.grad()[0][4].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(x1.grad()[1][T - 1].abs().sum().item<double>(), 0.0);
}

TEST(TokenTerms, ChunkingOverManyPositionsMatches) {
  // V large enough that a chunk holds fewer positions than the batch (several chunks).
  torch::manual_seed(4);
  const int64_t B = 2, T = 40, V = 300000;
  auto base = torch::randn({B, T, V});
  auto ids = torch::randint(0, V, {B, T}, torch::kInt64);
  auto mask = torch::ones({B, T}, torch::kInt64);
  auto x1 = base.clone().requires_grad_(true);
  auto s1 = token_ce_sum(x1, ids, mask);
  s1.backward();
  auto x2 = base.clone().requires_grad_(true);
  auto s2 = plain_terms(x2, base, ids, mask).first.sum();
  s2.backward();
  EXPECT_NEAR(s1.item<double>(), s2.item<double>(), 1e-3);
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-5, 1e-7));
}

TEST(TokenTerms, NoTargetsGivesZeroAndZeroGradient) {
  auto x = torch::randn({2, 3, 5}).requires_grad_(true);
  auto ids = torch::zeros({2, 3}, torch::kInt64);
  auto mask = torch::tensor({1, 0, 0, 0, 0, 1}, torch::kInt64).view({2, 3});
  auto s = token_ce_sum(x, ids, mask);
  s.backward();
  EXPECT_EQ(s.item<double>(), 0.0);
  EXPECT_EQ(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(TokenTerms, RejectsMismatchedShapes) {
  auto x = torch::randn({2, 3, 5});
  EXPECT_THROW(token_ce_sum(x, torch::zeros({2, 4}, torch::kInt64), torch::ones({2, 4}, torch::kInt64)),
               std::exception);
  EXPECT_THROW(kl_term_sum(x, torch::randn({2, 3, 4}), torch::zeros({2, 3}, torch::kInt64),
                           torch::ones({2, 3}, torch::kInt64)),
               std::exception);
}

}  // namespace
}  // namespace unl::unlearn
