// Generation: cached greedy against the uncached textbook loop, EOS/pad handling, batching, and
// beam search on a hand-built bigram model whose best sequence greedy misses.
#include <gtest/gtest.h>

#include <cmath>

#include "model/generate.h"
#include "nets_reference.h"

namespace unl::model {
namespace {

using testing::random_model;
using testing::tiny_config;

/// A bigram LM: logits at a position depend only on that position's token, log_probs[token].
/// Keeps a dummy cache so generate's cache bookkeeping (length, select_rows) is exercised.
class BigramLM : public CausalLMImpl {
 public:
  explicit BigramLM(torch::Tensor log_probs) : CausalLMImpl(make_config(log_probs.size(0))),
                                               table_(std::move(log_probs)) {}
  LMOutput forward(const torch::Tensor& ids, const torch::Tensor& mask, KVCache* cache,
                   bool compute_logits) override {
    const int64_t b = ids.size(0), t = ids.size(1);
    if (cache) {
      auto k = torch::zeros({b, 1, t, 1});
      if (cache->keys.empty()) {
        cache->keys = {k}, cache->values = {k};
      } else {
        cache->keys[0] = torch::cat({cache->keys[0], k}, 2);
        cache->values[0] = cache->keys[0];
      }
      EXPECT_EQ(mask.size(1), cache->length());
    }
    LMOutput out;
    if (compute_logits) out.logits = table_.index_select(0, ids.flatten()).view({b, t, -1});
    return out;
  }

 private:
  static ModelConfig make_config(int64_t vocab) {
    ModelConfig c;
    c.vocab_size = vocab;
    return c;
  }
  torch::Tensor table_;
};

/// rows[i] = next-token probabilities after token i.
torch::Tensor bigram(const std::vector<std::vector<double>>& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows) out.push_back(torch::tensor(r, torch::kDouble).log().to(torch::kFloat));
  return torch::stack(out);
}

torch::Tensor ids2d(std::vector<int64_t> v, int64_t rows) {
  return torch::tensor(v, torch::kLong).view({rows, -1});
}

class Gen : public ::testing::TestWithParam<Family> {};

// Left-padded batch, prompts of 2, 5 and 6 tokens.
const torch::Tensor kPrompts = ids2d({0, 0, 0, 0, 4, 7, 0, 3, 9, 2, 5, 1, 6, 6, 1, 8, 2, 3}, 3);
const torch::Tensor kMask = ids2d({0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 3);

TEST_P(Gen, CachedGreedyEqualsUncachedGreedy) {
  auto model = random_model(tiny_config(GetParam()), 11);
  GenerateOptions o;
  o.max_new_tokens = 12;
  auto cached = generate(*model, kPrompts, kMask, o);
  auto uncached = greedy_uncached(*model, kPrompts, kMask, o);
  ASSERT_EQ(cached.sizes(), (std::vector<int64_t>{3, 12}));
  EXPECT_TRUE(torch::equal(cached, uncached)) << cached << uncached;
  // With an EOS that does occur in the output, both stop the same way.
  o.eos_token_id = cached[1][3].item<int64_t>();
  o.pad_token_id = 0;
  EXPECT_TRUE(torch::equal(generate(*model, kPrompts, kMask, o), greedy_uncached(*model, kPrompts, kMask, o)));
}

TEST_P(Gen, BatchEqualsRowsOneByOne) {
  auto model = random_model(tiny_config(GetParam()), 12);
  for (int64_t beams : {1, 3}) {
    GenerateOptions o;
    o.max_new_tokens = 6;
    o.num_beams = beams;
    auto batch = generate(*model, kPrompts, kMask, o);
    for (int64_t r = 0; r < 3; ++r) {
      const int64_t start = 6 - kMask[r].sum().item<int64_t>();
      auto prompt = kPrompts[r].narrow(0, start, 6 - start).unsqueeze(0);
      auto alone = generate(*model, prompt, torch::ones_like(prompt), o);
      EXPECT_TRUE(torch::equal(alone[0], batch[r])) << "beams " << beams << " row " << r;
    }
  }
}

TEST_P(Gen, OneBeamSearchEqualsGreedyWithoutEos) {
  auto model = random_model(tiny_config(GetParam()), 13);
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.num_beams = 1;
  EXPECT_TRUE(torch::equal(beam_search(*model, kPrompts, kMask, o), greedy_uncached(*model, kPrompts, kMask, o)));
}

TEST(GenBigram, GreedyStopsAtEosAndPads) {
  // 0 -> 1 -> 3 (EOS); finished rows emit pad (7).
  BigramLM lm(bigram({{.05, .6, .2, .05, .1}, {.1, .1, .1, .6, .1}, {.2, .2, .2, .2, .2},
                      {.2, .2, .2, .2, .2}, {.2, .2, .2, .2, .2}}));
  GenerateOptions o;
  o.max_new_tokens = 5, o.eos_token_id = 3, o.pad_token_id = 7;
  auto out = generate(lm, ids2d({0}, 1), {}, o);
  EXPECT_TRUE(torch::equal(out, ids2d({1, 3, 7, 7, 7}, 1))) << out;
}

TEST(GenBigram, BeamSearchFindsTheSequenceGreedyMisses) {
  // From 0: A(1) 0.6, B(2) 0.4. After A everything is flat (best 0.25); after B, C(3) is 0.9.
  // Greedy: A then 0.25 -> p = 0.15. Two beams: B C -> p = 0.36.
  BigramLM lm(bigram({{.0001, .5997, .4, .0001, .0001}, {.25, .25, .25, .25, .0}, {.025, .025, .025, .9, .025},
                      {.2, .2, .2, .2, .2}, {.2, .2, .2, .2, .2}}));
  GenerateOptions o;
  o.max_new_tokens = 2;
  auto greedy = generate(lm, ids2d({0}, 1), {}, o);
  EXPECT_EQ(greedy[0][0].item<int64_t>(), 1);
  o.num_beams = 2;
  auto beam = generate(lm, ids2d({0}, 1), {}, o);
  EXPECT_TRUE(torch::equal(beam, ids2d({2, 3}, 1))) << beam;
}

TEST(GenBigram, BeamSearchScoresFinishedHypothesesByLength) {
  // 0 -> A(1) .5 | B(2) .4; A -> EOS(3) .97; B -> C(4) .9; C -> C .9.
  // Finished [A] (EOS counted): (ln .5 + ln .97) / 2 = -0.3618.
  // Running [B C C] at the length limit: (ln .4 + 2 ln .9) / 3 = -0.3757. [A] wins.
  BigramLM lm(bigram({{.025, .5, .4, .05, .025}, {.0075, .0075, .0075, .97, .0075},
                      {.025, .025, .025, .025, .9}, {.2, .2, .2, .2, .2}, {.025, .025, .025, .025, .9}}));
  GenerateOptions o;
  o.max_new_tokens = 3, o.num_beams = 2, o.eos_token_id = 3, o.pad_token_id = 0;
  EXPECT_TRUE(torch::equal(generate(lm, ids2d({0}, 1), {}, o), ids2d({1, 3, 0}, 1)));
  // length_penalty 0 ranks by the raw sum: -0.7236 vs -1.127, still [A]; a strong preference
  // for length (2.0) flips it: -0.1809 vs -0.1252.
  o.length_penalty = 2.0;
  EXPECT_TRUE(torch::equal(generate(lm, ids2d({0}, 1), {}, o), ids2d({2, 4, 4}, 1)));
}

INSTANTIATE_TEST_SUITE_P(Families, Gen,
                         ::testing::Values(Family::kGptNeo, Family::kGpt2, Family::kLlama),
                         [](const auto& info) { return std::string(testing::family_label(info.param)); });

}  // namespace
}  // namespace unl::model
