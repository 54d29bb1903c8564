// The method on real (tiny) models: the KV-cache EL_n equals the uncached textbook loop for every
// family (position ids, local windows, rotary keys survive the cache re-layout), and ICU makes a
// fine-tuned GPT-Neo forget memorised sequences while damaging other memorised text less than GA.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <numeric>

#include "model/causal_lm.h"
#include "unlearn/adam.h"
#include "unlearn/losses.h"
#include "unlearn/method.h"
#include "unlearn/metrics.h"

namespace unl::unlearn {
namespace {

using Seqs = std::vector<std::vector<int64_t>>;
constexpr int64_t kVocab = 48;

model::ModelConfig tiny(model::Family family) {
  model::ModelConfig c;
  c.family = family;
  c.vocab_size = kVocab;
  c.hidden_size = 64;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = family == model::Family::kLlama ? 2 : 4;
  c.intermediate_size = 128;
  c.max_position_embeddings = 64;
  c.window_size = 6;  // GPT-Neo local layers see only the last 6 keys: a misplaced key shows
  c.bos_token_id = c.eos_token_id = kVocab - 1;
  if (family == model::Family::kLlama) c.activation = "silu", c.tie_word_embeddings = false;
  return c;
}

Seqs random_seqs(int64_t n, int64_t len) {
  auto g = torch::randint(0, kVocab - 1, {n, len}, torch::kInt64);
  Seqs out;
  for (int64_t i = 0; i < n; ++i) out.emplace_back(g[i].data_ptr<int64_t>(), g[i].data_ptr<int64_t>() + len);
  return out;
}

torch::Tensor to_tensor(const Seqs& s, torch::Tensor* mask) {
  auto t = torch::empty({static_cast<int64_t>(s.size()), static_cast<int64_t>(s[0].size())}, torch::kInt64);
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s[i].size(); ++j) t[i][j] = s[i][j];
  *mask = torch::ones_like(t);
  return t;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

TEST(LearningCachedEl, EqualsUncachedReferenceForEveryFamily) {
  for (auto family : {model::Family::kGptNeo, model::Family::kGpt2, model::Family::kLlama}) {
    torch::manual_seed(51);
    auto m = model::make_causal_lm(tiny(family));
    {  // sharpen the random model so greedy choices are far from ties
      torch::NoGradGuard ng;
      for (auto& p : m->parameters()) p.mul_(4.0);
    }
    Seqs seqs = random_seqs(3, 14);
    seqs[1].resize(11);  // uneven lengths: left padding in the prefill
    EvalOptions o;
    o.n = 3;
    o.suffix_start = 2;
    o.batch_size = 2;
    o.pad_token_id = kVocab - 1;
    auto fast = extraction_likelihood(*m, seqs, o);
    auto slow = extraction_likelihood_reference(*m, seqs, o);
    for (size_t j = 0; j < seqs.size(); ++j) EXPECT_EQ(fast[j], slow[j]) << static_cast<int>(family) << " seq " << j;
  }
}

struct Outcome {
  int steps = 0;
  double forget_ma = 0, forget_el = 0, neighbour_ma = 0, neighbour_ce = 0, other_ce = 0;
};

/// GA ascends on the forget set only and wrecks the other memorised text with it. ICU's learn
/// and KL terms hold the neighbours in place: at the same level of forgetting (forget MA near
/// chance) the neighbours stay memorised, and unrelated memorised text suffers less too (that
/// margin is smaller: it held for seeds 61-66 at lr 5e-4, not at lr 2e-4).
TEST(Learning, IcuForgetsWhileKeepingNeighboursGaDoesNot) {
  const uint64_t seed = std::getenv("UNL_LEARNING_SEED") ? std::stoull(std::getenv("UNL_LEARNING_SEED")) : 61;
  torch::manual_seed(seed);
  const int64_t len = 20;
  Seqs forget = random_seqs(4, len), neighbours = random_seqs(4, len), other = random_seqs(4, len);
  Seqs all = forget;
  all.insert(all.end(), neighbours.begin(), neighbours.end());
  all.insert(all.end(), other.begin(), other.end());
  auto theta0 = model::make_causal_lm(tiny(model::Family::kGptNeo));
  // 1. Memorise all twelve sequences with plain CE.
  {
    Adam adam(model::hf_state_dict(*theta0), AdamOptions{3e-3});
    torch::Tensor mask;
    auto ids = to_tensor(all, &mask);
    for (int step = 0; step < 300; ++step) {
      adam.zero_grad();
      auto loss = token_ce_sum(theta0->forward(ids, mask).logits, ids, mask) / target_count(mask);
      loss.backward();
      adam.step();
    }
  }
  EvalOptions eo;
  eo.n = 3;
  eo.suffix_start = 10;
  eo.batch_size = 8;
  eo.pad_token_id = kVocab - 1;
  ASSERT_GT(mean(memorization_accuracy(*theta0, all, eo)), 0.95);
  ASSERT_GT(mean(extraction_likelihood(*theta0, forget, eo)), 0.9);

  // 2. Unlearn the first four until their MA is near chance (1/47), same optimiser settings.
  auto ce = [&](model::CausalLMImpl& m, const Seqs& s) {
    return cross_entropy_sum(m, s, 8, kVocab - 1).first / static_cast<double>(s.size() * (len - 1));
  };
  auto unlearn = [&](const std::string& name) {
    auto m = model::clone_causal_lm(*theta0);
    Adam adam(model::hf_state_dict(*m), AdamOptions{5e-4});
    auto method = make_method(name, MethodWeights{});
    Batch b;
    b.forget_ids = to_tensor(forget, &b.forget_mask);
    b.neighbour_ids = to_tensor(neighbours, &b.neighbour_mask);
    Outcome o;
    while (o.steps < 200 && mean(memorization_accuracy(*m, forget, eo)) >= 0.1) {
      adam.zero_grad();
      auto out = method->loss(*m, theta0.get(), b, method->count(b));
      out.loss.backward();
      adam.step();
      ++o.steps;
    }
    o.forget_ma = mean(memorization_accuracy(*m, forget, eo));
    o.forget_el = mean(extraction_likelihood(*m, forget, eo));
    o.neighbour_ma = mean(memorization_accuracy(*m, neighbours, eo));
    o.neighbour_ce = ce(*m, neighbours);
    o.other_ce = ce(*m, other);
    std::printf("%s: %d steps, forget MA %.3f EL %.3f, neighbour MA %.3f CE %.3f, other CE %.3f\n", name.c_str(),
                o.steps, o.forget_ma, o.forget_el, o.neighbour_ma, o.neighbour_ce, o.other_ce);
    return o;
  };
  const Outcome icu = unlearn("icu"), ga = unlearn("ga");
  for (const auto* o : {&icu, &ga}) {
    EXPECT_LT(o->forget_ma, 0.1);
    EXPECT_LT(o->forget_el, 0.05);
  }
  EXPECT_GT(icu.neighbour_ma, 0.85);
  EXPECT_LT(ga.neighbour_ma, icu.neighbour_ma - 0.3);
  EXPECT_LT(icu.neighbour_ce, ga.neighbour_ce);
  EXPECT_LT(icu.other_ce, ga.other_ce);
}

}  // namespace
}  // namespace unl::unlearn
