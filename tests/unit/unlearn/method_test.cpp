// ICU and the baselines on a trainable bigram model: values against the textbook formulas, the
// direction of each term's gradient, and global normalisation (split batches sum to the whole).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/error.h"
#include "tests/unit/unlearn/fake_model.h"
#include "unlearn/method.h"

namespace unl::unlearn {
namespace {

using testing::TableLM;

constexpr int64_t kV = 7;

Batch make_batch(int64_t rows, uint64_t seed) {
  torch::manual_seed(seed);
  Batch b;
  b.forget_ids = torch::randint(0, kV, {rows, 6}, torch::kInt64);
  b.forget_mask = torch::ones({rows, 6}, torch::kInt64);
  b.neighbour_ids = torch::randint(0, kV, {rows, 5}, torch::kInt64);
  b.neighbour_mask = torch::ones({rows, 5}, torch::kInt64);
  if (rows > 1) {  // padding on both sides
    b.forget_mask[0][5] = 0;
    b.forget_mask[0][4] = 0;
    b.neighbour_mask[1][0] = 0;
  }
  return b;
}

Batch rows_of(const Batch& b, int64_t lo, int64_t hi) {
  Batch out;
  out.forget_ids = b.forget_ids.narrow(0, lo, hi - lo);
  out.forget_mask = b.forget_mask.narrow(0, lo, hi - lo);
  out.neighbour_ids = b.neighbour_ids.narrow(0, lo, hi - lo);
  out.neighbour_mask = b.neighbour_mask.narrow(0, lo, hi - lo);
  return out;
}

/// Mean token CE and mean KL with plain log_softmax: the independent expectation.
double plain_ce(const torch::Tensor& table, const torch::Tensor& ids, const torch::Tensor& mask) {
  auto logq = table.index_select(0, ids.reshape({-1})).view({ids.size(0), ids.size(1), -1}).log_softmax(-1);
  double sum = 0, n = 0;
  for (int64_t b = 0; b < ids.size(0); ++b)
    for (int64_t t = 1; t < ids.size(1); ++t)
      if (mask[b][t].item<int64_t>() && mask[b][t - 1].item<int64_t>()) {
        sum -= logq[b][t - 1][ids[b][t].item<int64_t>()].item<double>();
        n += 1;
      }
  return sum / n;
}

double plain_kl(const torch::Tensor& table, const torch::Tensor& ref_table, const torch::Tensor& ids,
                const torch::Tensor& mask) {
  auto logq = table.index_select(0, ids.reshape({-1})).log_softmax(-1);
  auto p0 = ref_table.index_select(0, ids.reshape({-1})).softmax(-1);
  auto per = -(p0 * logq).sum(-1).view({ids.size(0), ids.size(1)});
  double sum = 0, n = 0;
  for (int64_t b = 0; b < ids.size(0); ++b)
    for (int64_t t = 1; t < ids.size(1); ++t)
      if (mask[b][t].item<int64_t>() && mask[b][t - 1].item<int64_t>()) {
        sum += per[b][t - 1].item<double>();
        n += 1;
      }
  return sum / n;
}

TermCounts sum_counts(const TermCounts& a, const TermCounts& b) {
  TermCounts c = a;
  for (const auto& [k, v] : b) c[k] += v;
  return c;
}

TEST(Method, FactoryAndFlags) {
  MethodWeights w;
  EXPECT_TRUE(make_method("icu", w)->needs_reference());
  EXPECT_TRUE(make_method("icu", w)->needs_neighbours());
  EXPECT_FALSE(make_method("ga", w)->needs_reference());
  EXPECT_FALSE(make_method("ga", w)->needs_neighbours());
  EXPECT_TRUE(make_method("graddiff", w)->needs_neighbours());
  EXPECT_FALSE(make_method("graddiff", w)->needs_reference());
  EXPECT_TRUE(make_method("npo", w)->needs_reference());
  EXPECT_EQ(make_method("npo", w)->name(), "npo");
  EXPECT_THROW(make_method("sgd", w), UsageError);
}

TEST(Method, CountsHaveAllKeysEvenWithoutRows) {
  MethodWeights w;
  Batch empty;
  auto icu = make_method("icu", w)->count(empty);
  EXPECT_EQ(icu.size(), 2u);
  EXPECT_EQ(icu.at("forget_tokens"), 0.0);
  EXPECT_EQ(icu.at("neighbour_tokens"), 0.0);
  EXPECT_EQ(make_method("npo", w)->count(empty).count("forget_sequences"), 1u);
  auto b = make_batch(3, 1);
  auto c = make_method("icu", w)->count(b);
  EXPECT_EQ(c.at("forget_tokens"), 3 * 5 - 2);  // row 0 has 4 real tokens
  EXPECT_EQ(c.at("neighbour_tokens"), 3 * 4 - 1);
}

TEST(Method, ZeroRowsGiveUndefinedLossAndZeroTerms) {
  TableLM model(torch::randn({kV, kV}));
  auto icu = make_method("icu", MethodWeights{});
  auto out = icu->loss(*model, model.get(), Batch{}, {{"forget_tokens", 10}, {"neighbour_tokens", 10}});
  EXPECT_FALSE(out.loss.defined());
  ASSERT_EQ(out.terms.count("kl"), 1u);
  for (const auto& [k, v] : out.terms) EXPECT_EQ(v, 0.0) << k;
}

TEST(Method, IcuValueMatchesTextbookFormula) {
  torch::manual_seed(5);
  auto theta0 = torch::randn({kV, kV});
  TableLM ref(theta0);
  TableLM model(theta0 + 0.3 * torch::randn({kV, kV}));
  MethodWeights w;
  w.forget = 1.0, w.learn = 0.5, w.kl = 2.0;
  auto icu = make_method("icu", w);
  auto b = make_batch(3, 2);
  auto out = icu->loss(*model, ref.get(), b, icu->count(b));
  const double fce = plain_ce(model->cur.detach(), b.forget_ids, b.forget_mask);
  const double nce = plain_ce(model->cur.detach(), b.neighbour_ids, b.neighbour_mask);
  const double kl = plain_kl(model->cur.detach(), theta0, b.neighbour_ids, b.neighbour_mask);
  EXPECT_NEAR(out.terms.at("forget_ce"), fce, 1e-5);
  EXPECT_NEAR(out.terms.at("neighbour_ce"), nce, 1e-5);
  EXPECT_NEAR(out.terms.at("kl"), kl, 1e-5);
  EXPECT_NEAR(out.loss.item<double>(), -fce + 0.5 * nce + 2.0 * kl, 1e-5);
  EXPECT_NEAR(out.terms.at("loss"), out.loss.item<double>(), 1e-9);
}

TEST(Method, IcuWithCachedReferenceLogProbsEqualsLiveReference) {
  torch::manual_seed(13);
  auto theta0 = torch::randn({kV, kV});
  TableLM ref(theta0), model(theta0 + 0.3 * torch::randn({kV, kV}));
  auto icu = make_method("icu", MethodWeights{});
  auto b = make_batch(3, 14);
  auto live = icu->loss(*model, ref.get(), b, icu->count(b));
  Batch cached = b;
  {
    torch::NoGradGuard ng;
    cached.neighbour_reference = ref->forward(b.neighbour_ids, b.neighbour_mask).logits.log_softmax(-1);
  }
  auto out = icu->loss(*model, nullptr, cached, icu->count(cached));
  EXPECT_NEAR(out.terms.at("kl"), live.terms.at("kl"), 1e-6);
  EXPECT_NEAR(out.loss.item<double>(), live.loss.item<double>(), 1e-6);
}

double forget_ce_after_sgd_step(const std::string& method, const Batch& b) {
  torch::manual_seed(6);
  auto theta0 = torch::randn({kV, kV});
  TableLM ref(theta0);
  TableLM model(theta0);
  auto m = make_method(method, MethodWeights{});
  const double before = plain_ce(model->cur.detach(), b.forget_ids, b.forget_mask);
  auto out = m->loss(*model, ref.get(), b, m->count(b));
  out.loss.backward();
  {
    torch::NoGradGuard ng;
    model->cur -= 0.5 * model->cur.grad();
  }
  return plain_ce(model->cur.detach(), b.forget_ids, b.forget_mask) - before;
}

TEST(Method, EveryMethodRaisesForgetLossAfterAStep) {
  auto b = make_batch(4, 3);
  for (const char* m : {"ga", "icu", "graddiff", "npo"}) EXPECT_GT(forget_ce_after_sgd_step(m, b), 0.0) << m;
}

TEST(Method, LearnAndKlTermsDescendOnNeighbours) {
  // With w_fgt = 0 the ICU step is pure descent on neighbour CE + KL: neighbour CE falls.
  torch::manual_seed(7);
  auto theta0 = torch::randn({kV, kV});
  TableLM ref(theta0);
  TableLM model(theta0);
  MethodWeights w;
  w.forget = 0;
  auto icu = make_method("icu", w);
  auto b = make_batch(4, 4);
  const double before = plain_ce(model->cur.detach(), b.neighbour_ids, b.neighbour_mask);
  auto out = icu->loss(*model, ref.get(), b, icu->count(b));
  out.loss.backward();
  {
    torch::NoGradGuard ng;
    model->cur -= 0.2 * model->cur.grad();
  }
  EXPECT_LT(plain_ce(model->cur.detach(), b.neighbour_ids, b.neighbour_mask), before);
}

TEST(Method, SplitBatchesSumToTheFullBatchGradient) {
  for (const char* name : {"icu", "ga", "graddiff", "npo"}) {
    torch::manual_seed(8);
    auto theta0 = torch::randn({kV, kV});
    TableLM ref(theta0);
    TableLM model(theta0 + 0.2 * torch::randn({kV, kV}));
    auto m = make_method(name, MethodWeights{});
    auto b = make_batch(5, 9);
    auto full = m->loss(*model, ref.get(), b, m->count(b));
    full.loss.backward();
    auto g_full = model->cur.grad().clone();
    model->cur.mutable_grad().zero_();
    // Three "ranks": rows [0,2), [2,5) and an empty one.
    Batch parts[3] = {rows_of(b, 0, 2), rows_of(b, 2, 5), Batch{}};
    TermCounts global;
    for (auto& p : parts) global = sum_counts(global, m->count(p));
    double loss_sum = 0;
    for (auto& p : parts) {
      auto out = m->loss(*model, ref.get(), p, global);
      if (out.loss.defined()) out.loss.backward();
      loss_sum += out.terms.at("loss");
    }
    EXPECT_TRUE(torch::allclose(model->cur.grad(), g_full, 1e-5, 1e-6)) << name;
    EXPECT_NEAR(loss_sum, full.terms.at("loss"), 1e-5) << name;
  }
}

TEST(Method, NpoEqualsTwoOverBetaLogTwoAtTheReference) {
  torch::manual_seed(10);
  auto theta0 = torch::randn({kV, kV});
  TableLM ref(theta0), model(theta0);
  MethodWeights w;
  w.npo_beta = 0.25;
  auto npo = make_method("npo", w);
  auto b = make_batch(3, 11);
  auto out = npo->loss(*model, ref.get(), b, npo->count(b));
  EXPECT_NEAR(out.terms.at("npo"), 2.0 / 0.25 * std::log(2.0), 1e-5);
  // Away from the reference: (2/beta) mean softplus(beta (log pi - log pi_ref)), by hand.
  TableLM moved(theta0 + 0.5 * torch::randn({kV, kV}));
  auto out2 = npo->loss(*moved, ref.get(), b, npo->count(b));
  double expected = 0;
  for (int64_t r = 0; r < 3; ++r) {
    auto row = rows_of(b, r, r + 1);
    const int64_t n = row.forget_mask.sum().item<int64_t>() - 1;
    const double lp = -plain_ce(moved->cur.detach(), row.forget_ids, row.forget_mask) * n;
    const double lr = -plain_ce(theta0, row.forget_ids, row.forget_mask) * n;
    expected += 2.0 / 0.25 * std::log1p(std::exp(0.25 * (lp - lr)));
  }
  EXPECT_NEAR(out2.terms.at("npo"), expected / 3, 1e-4);
}

TEST(Method, MissingReferenceOrCountsAreErrors) {
  TableLM model(torch::randn({kV, kV}));
  auto b = make_batch(2, 12);
  auto icu = make_method("icu", MethodWeights{});
  EXPECT_THROW(icu->loss(*model, nullptr, b, icu->count(b)), Error);
  EXPECT_THROW(icu->loss(*model, model.get(), b, {{"forget_tokens", 3}}), Error);
}

}  // namespace
}  // namespace unl::unlearn
