// Metrics on hand-built sequences: n-gram overlap against hand-computed values, MA and
// EL_n of a table model whose greedy continuations are known, and the KV-cache EL_n against the
// textbook uncached loop and an independent greedy simulation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "tests/unit/unlearn/fake_model.h"
#include "unlearn/metrics.h"

namespace unl::unlearn {
namespace {

using testing::successor_table;
using testing::TableLM;
using Seq = std::vector<int64_t>;

TEST(NgramOverlap, HandComputed) {
  EXPECT_DOUBLE_EQ(ngram_overlap({1, 2, 3, 4}, {1, 2, 3, 4}, 2), 1.0);
  EXPECT_DOUBLE_EQ(ngram_overlap({5, 6, 7, 8}, {1, 2, 3, 4}, 2), 0.0);
  // pred bigrams (1,2) (2,1) (1,2): all three in {(1,2),(2,3),(3,4)}? only (1,2) twice -> 2/3.
  EXPECT_DOUBLE_EQ(ngram_overlap({1, 2, 1, 2}, {1, 2, 3, 4}, 2), 2.0 / 3.0);
  // label shorter than n: 0; pred shorter than n: no hits.
  EXPECT_DOUBLE_EQ(ngram_overlap({1, 2, 3}, {1, 2}, 3), 0.0);
  EXPECT_DOUBLE_EQ(ngram_overlap({1}, {1, 2, 3}, 2), 0.0);
  EXPECT_DOUBLE_EQ(ngram_overlap({3}, {3}, 1), 1.0);
}

EvalOptions opts(int n, int64_t s, int64_t batch = 4, int64_t pad = 9) {
  EvalOptions o;
  o.n = n;
  o.suffix_start = s;
  o.batch_size = batch;
  o.pad_token_id = pad;
  return o;
}

/// succ(v) = v + 1 mod 10: greedy decoding counts upwards.
TableLM counting_model() {
  std::vector<int64_t> succ(10);
  for (int64_t v = 0; v < 10; ++v) succ[v] = (v + 1) % 10;
  return TableLM(successor_table(succ));
}

TEST(MemorizationAccuracy, HandComputedWithPaddingAndEos) {
  auto model = counting_model();
  // Token 9 is also the pad id here: a real 9 is a target, padding is not (mask decides).
  std::vector<Seq> seqs = {{6, 7, 8, 9}, {0, 1, 2, 5, 6, 7, 3, 4}, {3, 5}, {4}, {8, 9, 0}};
  auto ma = memorization_accuracy(*model, seqs, opts(2, 1, 2));
  ASSERT_EQ(ma.size(), 5u);
  EXPECT_DOUBLE_EQ(ma[0], 1.0);
  EXPECT_DOUBLE_EQ(ma[1], 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(ma[2], 0.0);
  EXPECT_DOUBLE_EQ(ma[3], 0.0);  // no target at all
  EXPECT_DOUBLE_EQ(ma[4], 1.0);
}

TEST(ExtractionLikelihood, HandComputedCountingModel) {
  auto model = counting_model();
  std::vector<Seq> seqs = {{0, 1, 2, 5, 6, 7, 3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}, {0, 1, 2}, {3, 4}, {7}};
  // seq 0, n = 2, s = 1: prefixes i = 1..6 give 4/6, 3/5, 3/4, 1/3, 0, 0 (see GUIDE formula).
  const double el0 = (4.0 / 6 + 3.0 / 5 + 3.0 / 4 + 1.0 / 3) / 6;
  for (auto* fn : {&extraction_likelihood, &extraction_likelihood_reference}) {
    auto el = (*fn)(*model, seqs, opts(2, 1, 3), {});
    EXPECT_NEAR(el[0], el0, 1e-12);
    EXPECT_DOUBLE_EQ(el[1], 1.0);  // memorised: every continuation is exact
    EXPECT_DOUBLE_EQ(el[2], 1.0);  // T = 3, n = 2: one prefix
    EXPECT_DOUBLE_EQ(el[3], 0.0);  // T - s - n + 1 = 0: no prefix
    EXPECT_DOUBLE_EQ(el[4], 0.0);  // shorter than n
    // s = 3: prefixes 3..6 only.
    auto el3 = (*fn)(*model, seqs, opts(2, 3, 2), {});
    EXPECT_NEAR(el3[0], (3.0 / 4 + 1.0 / 3) / 4, 1e-12);
  }
}

/// Independent greedy simulation of the table model (no model class, no cache, no padding).
Seq simulate_greedy(const torch::Tensor& cur, const torch::Tensor& prev, const torch::Tensor& pos, Seq ctx,
                    int64_t steps) {
  Seq out;
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = static_cast<int64_t>(ctx.size()) - 1;
    auto logits = cur[ctx[t]].clone();
    if (t > 0) logits += prev[ctx[t - 1]];
    logits += pos[t];
    const int64_t next = logits.argmax().item<int64_t>();
    out.push_back(next);
    ctx.push_back(next);
  }
  return out;
}

TEST(ExtractionLikelihood, CachedEqualsReferenceAndSimulationOnContextModel) {
  // Logits depend on the previous token (through the cache) and on the position id (through
  // the mask): wrong cache re-layout or masks change the greedy tokens.
  torch::manual_seed(21);
  const int64_t V = 6, P = 40;
  auto cur = torch::randn({V, V}) * 2, prev = torch::randn({V, V}), pos = torch::randn({P, V});
  TableLM model(cur, prev, pos);
  std::mt19937 rng(5);
  std::vector<Seq> seqs;
  for (int k = 0; k < 7; ++k) {
    // Mostly the model's own greedy text (high overlap) with a few random tokens.
    const int64_t T = 6 + static_cast<int64_t>(rng() % 20);
    Seq x = {static_cast<int64_t>(rng() % V)};
    auto g = simulate_greedy(cur, prev, pos, x, T - 1);
    x.insert(x.end(), g.begin(), g.end());
    for (int flips = 0; flips < 2; ++flips) x[1 + rng() % (T - 1)] = static_cast<int64_t>(rng() % V);
    seqs.push_back(x);
  }
  for (auto [n, s, batch] : {std::tuple{3, int64_t{1}, int64_t{3}}, std::tuple{2, int64_t{4}, int64_t{5}},
                             std::tuple{4, int64_t{10}, int64_t{1}}}) {
    auto o = opts(n, s, batch, /*pad=*/0);
    auto fast = extraction_likelihood(*model, seqs, o);
    auto slow = extraction_likelihood_reference(*model, seqs, o);
    for (size_t j = 0; j < seqs.size(); ++j) {
      const auto& x = seqs[j];
      const int64_t T = static_cast<int64_t>(x.size());
      double expected = 0;
      int64_t count = 0;
      for (int64_t i = s; i <= T - n; ++i, ++count)
        expected += ngram_overlap(simulate_greedy(cur, prev, pos, Seq(x.begin(), x.begin() + i), T - i),
                                  Seq(x.begin() + i, x.end()), n);
      if (count) expected /= count;
      EXPECT_EQ(fast[j], slow[j]) << "seq " << j << " n " << n << " s " << s;
      EXPECT_NEAR(fast[j], expected, 1e-12) << "seq " << j;
    }
  }
}

TEST(ExtractionLikelihood, DecodesOnlyFromDivergences) {
  auto model = counting_model();
  // Memorised: the prefill alone decides every prefix.
  std::vector<Seq> seqs(4, Seq{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5});
  model->forward_calls = 0;
  auto el = extraction_likelihood(*model, seqs, opts(3, 1, 64));
  EXPECT_DOUBLE_EQ(el[0], 1.0);
  EXPECT_EQ(model->forward_calls, 1);
  // One break at position 8 (8 -> 3): prefixes 1..8 share the decode from x_<8 (8 tokens), the
  // prefixes after it run true to the end: 1 prefill + 8 - 1 decode steps.
  Seq x = {0, 1, 2, 3, 4, 5, 6, 7, 3, 4, 5, 6, 7, 8, 9, 0};
  model->forward_calls = 0;
  auto el2 = extraction_likelihood(*model, {x}, opts(3, 1, 64));
  EXPECT_EQ(model->forward_calls, 1 + 7);
  EXPECT_EQ(el2[0], extraction_likelihood_reference(*model, {x}, opts(3, 1, 64))[0]);
}

TEST(CrossEntropySum, MatchesTeacherForcedLoss) {
  torch::manual_seed(22);
  TableLM model(torch::randn({5, 5}));
  std::vector<Seq> seqs = {{1, 2, 3}, {4, 0}, {2}};
  auto [sum, count] = cross_entropy_sum(*model, seqs, 2, 0);
  EXPECT_EQ(count, 3);
  auto ls = model->cur.detach().log_softmax(-1);
  const double expected = -(ls[1][2] + ls[2][3] + ls[4][0]).item<double>();
  EXPECT_NEAR(sum, expected, 1e-5);
  auto tf = teacher_forced_metrics(*model, seqs, 8, 0);
  EXPECT_NEAR(tf.loss[0], -(ls[1][2] + ls[2][3]).item<double>() / 2, 1e-5);
  EXPECT_EQ(tf.tokens[2], 0);
}

}  // namespace
}  // namespace unl::unlearn
