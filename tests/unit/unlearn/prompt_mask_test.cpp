// Question/answer samples: prompt tokens (unl::kMaskPrompt) are read but never targets. Losses
// against an independent computation on the response tokens alone, zero gradient from prompt
// positions, and MA / EL_n / the continuation window computed on the response only.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "common/token_mask.h"
#include "tests/unit/unlearn/fake_model.h"
#include "unlearn/losses.h"
#include "unlearn/method.h"
#include "unlearn/metrics.h"

namespace unl::unlearn {
namespace {

using testing::TableLM;

// Row mask: `pad` padding columns on the left, then `prompt` prompt tokens, then response.
torch::Tensor row_mask(int64_t len, int64_t pad, int64_t prompt) {
  auto m = torch::zeros({len}, torch::kInt64);
  for (int64_t t = pad; t < len; ++t) m[t] = t < pad + prompt ? kMaskPrompt : kMaskToken;
  return m;
}

TEST(PromptMask, TargetsAreResponseTokensOnly) {
  // Row 0: prompt 2 then response 3 (no padding); row 1: 1 pad, prompt 3, response 1.
  auto mask = torch::stack({row_mask(5, 0, 2), row_mask(5, 1, 3)});
  auto tp = target_positions(mask).to(torch::kInt64);
  // Position p is a target when token p+1 is a response token: row 0 p = 1, 2, 3; row 1 p = 3.
  auto expected = torch::tensor({0, 1, 1, 1, 0, 0, 0, 0, 1, 0}, torch::kInt64).view({2, 5});
  EXPECT_TRUE(torch::equal(tp, expected)) << tp;
  EXPECT_EQ(target_count(mask), 4.0);
}

// The independent expectation: -log softmax(logits[b, p])[ids[b, p+1]] summed over the positions
// whose next token is a response token (by prompt length and padding, not by the mask encoding),
// and the KL term -sum_v P0 log q over the same positions.
struct Plain {
  std::vector<double> nll, kl;
};
Plain response_only(const torch::Tensor& logits, const torch::Tensor& ref, const torch::Tensor& ids,
                    const std::vector<int64_t>& pads, const std::vector<int64_t>& prompts) {
  Plain out;
  auto logq = logits.to(torch::kDouble).log_softmax(-1);
  auto p0 = ref.to(torch::kDouble).softmax(-1);
  const int64_t T = ids.size(1);
  for (int64_t b = 0; b < ids.size(0); ++b) {
    double nll = 0, kl = 0;
    for (int64_t t = pads[b] + prompts[b]; t < T; ++t) {  // t: a response token, predicted at t - 1
      if (t - 1 < pads[b]) continue;
      nll -= logq[b][t - 1][ids[b][t].item<int64_t>()].item<double>();
      kl -= (p0[b][t - 1] * logq[b][t - 1]).sum().item<double>();
    }
    out.nll.push_back(nll);
    out.kl.push_back(kl);
  }
  return out;
}

TEST(PromptMask, MaskedLossEqualsLossOnResponseTokensAlone) {
  torch::manual_seed(3);
  const int64_t B = 3, T = 9, V = 11;
  const std::vector<int64_t> pads = {0, 2, 4}, prompts = {4, 3, 1};
  auto logits = torch::randn({B, T, V});
  auto ref = torch::randn({B, T, V});
  auto ids = torch::randint(0, V, {B, T}, torch::kInt64);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < B; ++b) rows.push_back(row_mask(T, pads[b], prompts[b]));
  auto mask = torch::stack(rows);
  auto sums = token_term_sums(logits, ref, ids, mask);
  const auto plain = response_only(logits, ref, ids, pads, prompts);
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_NEAR(sums.nll[b].item<double>(), plain.nll[b], 1e-4) << "row " << b;
    EXPECT_NEAR(sums.kl[b].item<double>(), plain.kl[b], 1e-4) << "row " << b;
  }
  // The same rows with the prompt cut off entirely (response tokens alone, the last prompt token
  // kept as context for the first response token) give the same sums: nothing of the prompt's
  // own predictions enters.
  for (int64_t b = 0; b < B; ++b) {
    const int64_t start = pads[b] + prompts[b] - 1;  // last prompt token
    auto l = logits[b].narrow(0, start, T - start).unsqueeze(0);
    auto r = ref[b].narrow(0, start, T - start).unsqueeze(0);
    auto x = ids[b].narrow(0, start, T - start).unsqueeze(0);
    auto m = torch::ones({1, T - start}, torch::kInt64);
    auto alone = token_term_sums(l, r, x, m);
    EXPECT_NEAR(alone.nll[0].item<double>(), plain.nll[b], 1e-4);
    EXPECT_NEAR(alone.kl[0].item<double>(), plain.kl[b], 1e-4);
  }
}

TEST(PromptMask, PromptPositionsGetNoGradient) {
  torch::manual_seed(4);
  const int64_t T = 8, V = 6, P = 4;
  auto logits = torch::randn({1, T, V}).requires_grad_(true);
  auto ref = torch::randn({1, T, V});
  auto ids = torch::randint(0, V, {1, T}, torch::kInt64);
  auto mask = row_mask(T, 0, P).unsqueeze(0);
  auto sums = token_term_sums(logits, ref, ids, mask);
  (sums.nll.sum() + 0.7 * sums.kl.sum()).backward();
  auto g = logits.grad()[0];
  // Positions 0 .. P-2 predict prompt tokens; P-1 predicts the first response token.
  for (int64_t p = 0; p < P - 1; ++p) EXPECT_EQ(g[p].abs().max().item<double>(), 0.0) << "position " << p;
  for (int64_t p = P - 1; p < T - 1; ++p) EXPECT_GT(g[p].abs().max().item<double>(), 0.0) << "position " << p;
  EXPECT_EQ(g[T - 1].abs().max().item<double>(), 0.0);
}

TEST(PromptMask, IcuOnQaRowsNeverLearnsOrUnlearnsPromptTokens) {
  // A bigram table: the row cur[v] only receives gradient from positions holding token v. Tokens 0
  // and 1 appear only in prompts, before another prompt token, so their rows must get exactly zero
  // gradient, in the forget (ascent) term and in the neighbour (descent + KL) terms alike.
  constexpr int64_t V = 8;
  torch::manual_seed(8);
  auto theta0 = torch::randn({V, V});
  TableLM ref(theta0), model(theta0 + 0.2 * torch::randn({V, V}));
  Batch b;
  b.forget_ids = torch::tensor({0, 1, 2, 3, 4}, torch::kInt64).view({1, 5});
  b.forget_mask = torch::tensor({kMaskPrompt, kMaskPrompt, kMaskPrompt, kMaskToken, kMaskToken}, torch::kInt64).view({1, 5});
  b.neighbour_ids = torch::tensor({7, 0, 1, 2, 5, 6}, torch::kInt64).view({1, 6});
  b.neighbour_mask = torch::tensor({kMaskPad, kMaskPrompt, kMaskPrompt, kMaskPrompt, kMaskToken, kMaskToken},
                                   torch::kInt64).view({1, 6});
  auto icu = make_method("icu", MethodWeights{});
  auto counts = icu->count(b);
  EXPECT_EQ(counts.at("forget_tokens"), 2.0);     // 2 -> 3, 3 -> 4
  EXPECT_EQ(counts.at("neighbour_tokens"), 2.0);  // 2 -> 5, 5 -> 6
  auto out = icu->loss(*model, ref.get(), b, counts);
  out.loss.backward();
  auto g = model->cur.grad().clone();
  for (int64_t v : {0, 1}) EXPECT_EQ(g[v].abs().max().item<double>(), 0.0) << "prompt token " << v;
  for (int64_t v : {2, 3, 5}) EXPECT_GT(g[v].abs().max().item<double>(), 0.0) << "token " << v;
  // Value: the textbook terms over the response targets alone.
  auto logq = model->cur.detach().log_softmax(-1);
  auto p0 = theta0.softmax(-1);
  const double fce = -(logq[2][3].item<double>() + logq[3][4].item<double>()) / 2;
  const double nce = -(logq[2][5].item<double>() + logq[5][6].item<double>()) / 2;
  double kl = 0;
  for (int64_t v : {2, 5}) kl -= (p0[v] * logq[v]).sum().item<double>();
  kl /= 2;
  EXPECT_NEAR(out.terms.at("forget_ce"), fce, 1e-5);
  EXPECT_NEAR(out.terms.at("neighbour_ce"), nce, 1e-5);
  EXPECT_NEAR(out.terms.at("kl"), kl, 1e-5);
  EXPECT_NEAR(out.loss.item<double>(), -fce + 0.5 * nce + kl, 1e-5);
  // Control: the same rows as plain text train the prompt tokens' rows too.
  model->cur.mutable_grad().zero_();
  Batch text = b;
  text.forget_mask = torch::ones_like(b.forget_mask);
  text.neighbour_mask = (b.neighbour_mask != kMaskPad).to(torch::kInt64);
  icu->loss(*model, ref.get(), text, icu->count(text)).loss.backward();
  for (int64_t v : {0, 1}) EXPECT_GT(model->cur.grad()[v].abs().max().item<double>(), 0.0) << "token " << v;
}

// succ[v] = v + 1 (mod 7): greedy continues 3 -> 4 -> 5 ...
TableLM successor_model() {
  std::vector<int64_t> succ;
  for (int64_t v = 0; v < 7; ++v) succ.push_back((v + 1) % 7);
  return TableLM(testing::successor_table(succ));
}

TEST(PromptMask, MaAndElSeeOnlyTheResponse) {
  auto model = successor_model();
  const std::vector<std::vector<int64_t>> seqs = {{3, 0, 1, 2, 3}};
  EvalOptions o;
  o.n = 1;
  o.suffix_start = 150;  // ignored for a sample with a prompt
  o.batch_size = 4;
  o.pad_token_id = 0;
  // MA: prompt [3, 0] -> targets 1, 2, 3, all predicted; the whole sequence also has 3 -> 0 wrong.
  EXPECT_DOUBLE_EQ(memorization_accuracy(*model, seqs, o, {2})[0], 1.0);
  EXPECT_DOUBLE_EQ(memorization_accuracy(*model, seqs, o)[0], 0.75);
  // EL_1 with prompt [3, 0]: prefixes i = 2, 3, 4 all continue exactly: 1.
  EXPECT_DOUBLE_EQ(extraction_likelihood(*model, seqs, o, {2})[0], 1.0);
  // With prompt [3]: i = 1 adds greedy 4 5 6 0 against 0 1 2 3 (one unigram of four): (1/4 + 3) / 4.
  EXPECT_DOUBLE_EQ(extraction_likelihood(*model, seqs, o, {1})[0], 0.8125);
  EXPECT_DOUBLE_EQ(extraction_likelihood_reference(*model, seqs, o, {1})[0], 0.8125);
  // Text (no prompt) with s = 150: too short, 0.
  EXPECT_DOUBLE_EQ(extraction_likelihood(*model, seqs, o)[0], 0.0);
}

TEST(PromptMask, ContinuationPromptsWithThePromptAndComparesWithTheResponse) {
  auto model = successor_model();
  EvalOptions o;
  o.prompt_begin = 100, o.prefix_len = 50, o.gen_len = 3, o.num_beams = 1, o.batch_size = 2, o.pad_token_id = 0;
  const auto w = continuation_window(5, o, 2);
  EXPECT_EQ(w.begin, 0);
  EXPECT_EQ(w.prompt_end, 2);
  EXPECT_EQ(w.end, 5);
  EXPECT_TRUE(w.full);
  DecodeFn decode = [](const std::vector<int64_t>& t) {
    std::string s;
    for (auto v : t) s += (s.empty() ? "" : " ") + std::string(1, static_cast<char>('a' + v));
    return s;
  };
  std::vector<ContinuationText> texts;
  const std::vector<std::vector<int64_t>> seqs = {{3, 0, 1, 2, 3}, {5, 6, 0, 4, 4, 4}};
  auto m = evaluate_samples(*model, {10, 11}, seqs, o, decode, &texts, {2, 3});
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].prompt, "d a");
  EXPECT_EQ(texts[0].reference, "b c d");
  EXPECT_EQ(texts[0].generated, "b c d");
  EXPECT_EQ(texts[1].prompt, "f g a");
  EXPECT_EQ(texts[1].reference, "e e e");
  EXPECT_EQ(texts[1].generated, "b c d");
  // MA over the response only: row 1 predicts 0 -> 1 (wrong: 4), 4 -> 5 (wrong), 4 -> 5 (wrong).
  EXPECT_DOUBLE_EQ(m[0].ma, 1.0);
  EXPECT_DOUBLE_EQ(m[1].ma, 0.0);
  EXPECT_EQ(m[0].tokens, 3);
  EXPECT_EQ(m[1].tokens, 3);
}

}  // namespace
}  // namespace unl::unlearn
