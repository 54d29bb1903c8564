// Forward passes of GPT-Neo, GPT-2 and Llama against hand-written reference attention, plus
// left padding, batching, KV-cache and parameter-name invariants of every family.
#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "model/causal_lm.h"
#include "nets_reference.h"

namespace unl::model {
namespace {

using testing::params_of;
using testing::random_model;
using testing::ref_logits;
using testing::tiny_config;

class Nets : public ::testing::TestWithParam<Family> {};

const std::vector<int64_t> kSeq = {3, 7, 1, 9, 4, 4, 2, 8};

torch::Tensor row(const std::vector<int64_t>& ids) { return torch::tensor(ids, torch::kLong).unsqueeze(0); }

TEST_P(Nets, MatchesHandWrittenReference) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 1);
  auto expected = ref_logits(params_of(*model), config, kSeq);
  auto out = model->forward(row(kSeq), {});
  ASSERT_EQ(out.logits.scalar_type(), torch::kFloat);
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{1, 8, config.vocab_size}));
  EXPECT_TRUE(torch::allclose(out.logits[0].to(torch::kDouble), expected, 1e-4, 1e-4))
      << "max diff " << (out.logits[0].to(torch::kDouble) - expected).abs().max().item<double>();
}

TEST(NetsQuirks, GptNeoHasNoScoreScalingAndAWindow) {
  // The reference with the wrong convention (scaled scores, or no window) must disagree, so the
  // match above really pins GPT-Neo's quirks.
  auto config = tiny_config(Family::kGptNeo);
  auto model = random_model(config, 2);
  auto logits = model->forward(row(kSeq), {}).logits[0].to(torch::kDouble);
  auto no_window = config;
  no_window.attention_layers = {"global", "global"};
  auto wrong = ref_logits(params_of(*model), no_window, kSeq);
  EXPECT_GT((logits - wrong).abs().max().item<double>(), 1e-3);
  // Local attention with a window covering the sequence equals global attention.
  auto wide = config;
  wide.window_size = 64;
  auto wide_model = make_causal_lm(wide);
  {
    torch::NoGradGuard g;
    auto src = model->named_parameters();
    for (auto& p : wide_model->named_parameters()) p.value().copy_(src[p.key()]);
  }
  auto wide_logits = wide_model->forward(row(kSeq), {}).logits[0].to(torch::kDouble);
  EXPECT_TRUE(torch::allclose(wide_logits, wrong, 1e-4, 1e-4));
}

TEST(NetsQuirks, MistralSlidingWindowAndQwen2BiasesMatchReference) {
  auto mistral = tiny_config(Family::kLlama);
  mistral.model_type = "mistral", mistral.sliding_window = 3;
  auto model = random_model(mistral, 9);
  auto logits = model->forward(row(kSeq), {}).logits[0].to(torch::kDouble);
  EXPECT_TRUE(torch::allclose(logits, ref_logits(params_of(*model), mistral, kSeq), 1e-4, 1e-4));
  auto full = mistral;
  full.sliding_window = -1;
  EXPECT_GT((logits - ref_logits(params_of(*model), full, kSeq)).abs().max().item<double>(), 1e-3);

  auto qwen2 = tiny_config(Family::kLlama);
  qwen2.model_type = "qwen2", qwen2.attention_bias = false, qwen2.qkv_bias = true;
  auto q = random_model(qwen2, 10);
  auto names = q->named_parameters();
  EXPECT_TRUE(names.contains("model.layers.0.self_attn.v_proj.bias"));
  EXPECT_FALSE(names.contains("model.layers.0.self_attn.o_proj.bias"));
  EXPECT_TRUE(torch::allclose(q->forward(row(kSeq), {}).logits[0].to(torch::kDouble),
                              ref_logits(params_of(*q), qwen2, kSeq), 1e-4, 1e-4));
}

TEST(NetsQuirks, ParameterNamesAreHuggingFaceNames) {
  auto names = [](Family f) {
    auto m = make_causal_lm(tiny_config(f));
    std::set<std::string> s;
    for (auto& p : hf_state_dict(*m)) s.insert(p.first);
    return s;
  };
  const std::string a = "transformer.h.1.attn.attention.";
  auto neo = names(Family::kGptNeo);
  for (const auto& n : {"transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.bias",
                        "transformer.h.1.ln_1.weight", "transformer.h.1.mlp.c_fc.bias"}) {
    EXPECT_TRUE(neo.count(n)) << n;
  }
  EXPECT_TRUE(neo.count(a + "q_proj.weight") && neo.count(a + "out_proj.bias"));
  EXPECT_FALSE(neo.count(a + "q_proj.bias"));
  EXPECT_FALSE(neo.count("lm_head.weight"));  // tied
  EXPECT_EQ(neo.size(), 4u + 2 * 13);         // wte wpe ln_f.{w,b}; per block 13 tensors

  auto gpt2 = names(Family::kGpt2);
  EXPECT_TRUE(gpt2.count("transformer.h.0.attn.c_attn.weight"));
  EXPECT_EQ(gpt2.size(), 4u + 12);
  auto m2 = make_causal_lm(tiny_config(Family::kGpt2));
  EXPECT_EQ(m2->named_parameters()["transformer.h.0.attn.c_attn.weight"].sizes(),
            (std::vector<int64_t>{8, 24}));  // Conv1D: [in, out]

  auto llama = names(Family::kLlama);
  for (const auto& n : {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
                        "model.layers.0.self_attn.k_proj.bias", "model.layers.0.mlp.gate_proj.weight",
                        "model.layers.0.post_attention_layernorm.weight"}) {
    EXPECT_TRUE(llama.count(n)) << n;
  }
  auto ml = make_causal_lm(tiny_config(Family::kLlama));
  EXPECT_EQ(ml->named_parameters()["model.layers.0.self_attn.k_proj.weight"].sizes(),
            (std::vector<int64_t>{8, 16}));  // 2 kv heads x head_dim 4
}

TEST(NetsQuirks, InitialisationFollowsHuggingFace) {
  torch::manual_seed(0);
  auto c = tiny_config(Family::kGptNeo);
  c.hidden_size = 64, c.num_heads = 4, c.num_kv_heads = 4, c.vocab_size = 500;
  auto m = make_causal_lm(c);
  auto p = m->named_parameters();
  EXPECT_NEAR(p["transformer.wte.weight"].std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(p["transformer.h.0.mlp.c_fc.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(p["transformer.h.0.ln_1.weight"].min().item<double>(), 1.0);
  EXPECT_EQ(p["transformer.ln_f.bias"].abs().sum().item<double>(), 0.0);
}

TEST_P(Nets, LeftPaddedRowsEqualUnpaddedRows) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 3);
  const std::vector<int64_t> shorter = {5, 2, 9, 1, 6};
  auto ids = torch::tensor({0, 0, 0, 5, 2, 9, 1, 6, 3, 7, 1, 9, 4, 4, 2, 8}, torch::kLong).view({2, 8});
  auto mask = torch::tensor({0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, torch::kLong).view({2, 8});
  auto batch = model->forward(ids, mask).logits;
  EXPECT_TRUE(torch::isfinite(batch).all().item<bool>());  // fully padded query rows: no NaN
  auto alone = model->forward(row(shorter), {}).logits;
  EXPECT_TRUE(torch::allclose(batch[0].narrow(0, 3, 5), alone[0], 1e-5, 1e-5));
  auto full = model->forward(row(kSeq), {}).logits;
  EXPECT_TRUE(torch::allclose(batch[1], full[0], 1e-5, 1e-5));
}

TEST_P(Nets, CachedIncrementalForwardEqualsFullForward) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 4);
  auto ids = torch::tensor({0, 0, 5, 2, 9, 1, 6, 3, 3, 7, 1, 9, 4, 4, 2, 8}, torch::kLong).view({2, 8});
  auto mask = torch::ones({2, 8}, torch::kLong);
  mask[0][0] = 0, mask[0][1] = 0;
  auto full = model->forward(ids, mask).logits;
  KVCache cache;
  // 4 positions, then 1, then 3: crosses the GPT-Neo window of 3 with the cache.
  auto a = model->forward(ids.narrow(1, 0, 4), mask.narrow(1, 0, 4), &cache).logits;
  EXPECT_EQ(cache.length(), 4);
  auto b = model->forward(ids.narrow(1, 4, 1), mask.narrow(1, 0, 5), &cache).logits;
  auto c = model->forward(ids.narrow(1, 5, 3), mask, &cache).logits;
  EXPECT_EQ(cache.length(), 8);
  auto stitched = torch::cat({a, b, c}, 1);
  EXPECT_TRUE(torch::allclose(stitched.narrow(1, 2, 6)[0], full.narrow(1, 2, 6)[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(stitched[1], full[1], 1e-5, 1e-5));
}

TEST_P(Nets, SelectRowsReordersTheCache) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 5);
  auto ids = torch::tensor({3, 7, 1, 9, 5, 2, 9, 1}, torch::kLong).view({2, 4});
  KVCache cache;
  model->forward(ids, {}, &cache);
  cache.select_rows(torch::tensor({1, 1, 0}, torch::kLong));
  auto next = torch::tensor({4, 4, 2}, torch::kLong).view({3, 1});
  auto got = model->forward(next, {}, &cache).logits;
  auto want = model->forward(torch::tensor({5, 2, 9, 1, 4}, torch::kLong).unsqueeze(0), {}).logits;
  EXPECT_TRUE(torch::allclose(got[0][0], want[0][4], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(got[1][0], want[0][4], 1e-5, 1e-5));
}

TEST_P(Nets, CloneIsEqualAndIndependent) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 6);
  auto copy = clone_causal_lm(*model);
  auto x = row(kSeq);
  EXPECT_TRUE(torch::equal(model->forward(x, {}).logits, copy->forward(x, {}).logits));
  {
    torch::NoGradGuard g;
    for (auto& p : copy->parameters()) p.add_(1.0);
  }
  EXPECT_FALSE(torch::allclose(model->forward(x, {}).logits, copy->forward(x, {}).logits));
}

TEST_P(Nets, Bf16WeightsGiveFp32LogitsCloseToFp32) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 7);
  auto ref = model->forward(row(kSeq), {}).logits;
  model->to(torch::kBFloat16);
  auto out = model->forward(row(kSeq), {});
  EXPECT_EQ(out.logits.scalar_type(), torch::kFloat);
  EXPECT_LT((out.logits - ref).abs().max().item<double>(), 0.15 * ref.abs().max().item<double>());
}

TEST_P(Nets, GradientsReachEveryParameter) {
  auto config = tiny_config(GetParam());
  auto model = random_model(config, 8);
  auto loss = model->forward(row(kSeq), {}).logits.logsumexp(-1).sum();
  loss.backward();
  for (auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(NetsQuirks, TooLongSequenceNamesThePositionLimit) {
  auto model = make_causal_lm(tiny_config(Family::kGpt2));
  try {
    model->forward(torch::zeros({1, 33}, torch::kLong), {});
    FAIL() << "33 positions fit a model with 32 position embeddings";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("32 position embeddings"), std::string::npos) << e.what();
  }
}

// Every family refuses a sequence longer than max_position_embeddings before sizing attention
// by it (Llama has no position table, but T x T scores for a 10^7-token row would be 400 TB).
TEST(NetsLimits, EveryFamilyRefusesSequencesPastMaxPositions) {
  for (Family f : {Family::kGptNeo, Family::kGpt2, Family::kLlama}) {
    auto model = make_causal_lm(tiny_config(f));
    try {
      model->forward(torch::zeros({1, 10000000}, torch::kLong), {});
      ADD_FAILURE() << "no error for " << family_name(f);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("sequence of 10000000 positions (0 cached + 10000000 new) exceeds the "
                                           "model's"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("32"), std::string::npos) << e.what();
    }
    // 32 positions still fit.
    EXPECT_EQ(model->forward(torch::zeros({1, 32}, torch::kLong), {}).logits.size(1), 32);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Nets,
                         ::testing::Values(Family::kGptNeo, Family::kGpt2, Family::kLlama),
                         [](const auto& info) { return std::string(testing::family_label(info.param)); });

}  // namespace
}  // namespace unl::model
