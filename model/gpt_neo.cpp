// GPT-Neo forward, matching transformers' modeling_gpt_neo.py (eager attention) to float
// tolerance: no score scaling, fp32 scores, local layers masking keys >= window_size behind.
#include "model/gpt_neo.h"

#include <fmt/format.h>

#include "common/error.h"
#include "model/activation_checkpointing.h"

namespace unl::model {

GptNeoSelfAttentionImpl::GptNeoSelfAttentionImpl(const GptNeoAttentionOptions& options_)
    : options(options_) {
  const int64_t e = options.hidden_size();
  q_proj = register_module("q_proj", torch::nn::Linear(torch::nn::LinearOptions(e, e).bias(false)));
  k_proj = register_module("k_proj", torch::nn::Linear(torch::nn::LinearOptions(e, e).bias(false)));
  v_proj = register_module("v_proj", torch::nn::Linear(torch::nn::LinearOptions(e, e).bias(false)));
  out_proj = register_module("out_proj", torch::nn::Linear(torch::nn::LinearOptions(e, e)));
}

torch::Tensor GptNeoSelfAttentionImpl::forward(const torch::Tensor& x,
                                               const detail::AttentionContext& ctx,
                                               KVCache* cache, size_t layer) {
  const int64_t heads = options.num_heads();
  auto q = detail::split_heads(q_proj->forward(x), heads);
  auto kv = detail::append_kv(cache, layer, detail::split_heads(k_proj->forward(x), heads),
                              detail::split_heads(v_proj->forward(x), heads));
  detail::ScoreRule rule;
  rule.scores_fp32 = true;  // HF upcasts q and k; there is deliberately no 1/sqrt(d)
  auto out = detail::attend(q, kv.first, kv.second,
                            options.local() ? ctx.blocked_local : ctx.blocked, rule);
  return out_proj->forward(detail::merge_heads(out));
}

GptNeoAttentionImpl::GptNeoAttentionImpl(const GptNeoAttentionOptions& options) {
  attention = register_module("attention", GptNeoSelfAttention(options));
}

GptNeoMLPImpl::GptNeoMLPImpl(const GptNeoMLPOptions& options) {
  c_fc = register_module("c_fc", torch::nn::Linear(options.hidden_size(), options.intermediate_size()));
  c_proj = register_module("c_proj", torch::nn::Linear(options.intermediate_size(), options.hidden_size()));
}

torch::Tensor GptNeoMLPImpl::forward(const torch::Tensor& x) {
  // gelu_new is GELU's tanh approximation; the fused kernel equals HF's formula to rounding.
  return c_proj->forward(torch::gelu(c_fc->forward(x), "tanh"));
}

GptNeoBlockImpl::GptNeoBlockImpl(const GptNeoBlockOptions& options) : local(options.local()) {
  const auto& c = options.config();
  auto ln = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
  };
  ln_1 = register_module("ln_1", ln());
  attn = register_module("attn", GptNeoAttention(GptNeoAttentionOptions(c.hidden_size, c.num_heads)
                                                     .local(local)
                                                     .window_size(c.window_size)));
  ln_2 = register_module("ln_2", ln());
  mlp = register_module("mlp", GptNeoMLP(GptNeoMLPOptions(c.hidden_size, c.intermediate_size)));
}

torch::Tensor GptNeoBlockImpl::forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                                       KVCache* cache, size_t layer) {
  auto h = x + attn->forward(ln_1->forward(x), ctx, cache, layer);
  return h + mlp->forward(ln_2->forward(h));
}

namespace {
/// HF's default attention_types is [[["global", "local"], n/2]]: alternate, starting global.
std::vector<std::string> layer_kinds(const ModelConfig& c) {
  if (c.attention_layers.empty()) {
    std::vector<std::string> kinds;
    for (int64_t i = 0; i < c.num_layers; ++i) kinds.push_back(i % 2 ? "local" : "global");
    return kinds;
  }
  UNL_CHECK(static_cast<int64_t>(c.attention_layers.size()) == c.num_layers,
            fmt::format("GPT-Neo config lists {} attention layer types for {} layers",
                        c.attention_layers.size(), c.num_layers),
            "attention_types must expand to exactly num_layers entries");
  for (const auto& k : c.attention_layers) {
    UNL_CHECK(k == "global" || k == "local", "unknown GPT-Neo attention type '" + k + "'",
              "use \"global\" or \"local\"");
  }
  return c.attention_layers;
}
}  // namespace

GptNeoModelImpl::GptNeoModelImpl(const ModelConfig& c) : window_size(c.window_size) {
  wte = register_module("wte", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  wpe = register_module("wpe", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  h = register_module("h", torch::nn::ModuleList());
  for (const auto& kind : layer_kinds(c)) {
    blocks.push_back(GptNeoBlock(GptNeoBlockOptions(c, kind == "local")));
    h->push_back(blocks.back());
    any_local = any_local || kind == "local";
  }
  ln_f = register_module(
      "ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

torch::Tensor GptNeoModelImpl::forward(const torch::Tensor& input_ids,
                                       const torch::Tensor& attention_mask, KVCache* cache) {
  const int64_t past = cache ? cache->length() : 0;
  // Checked before the attention context: its masks are sized by the sequence length.
  const int64_t max_positions = wpe->weight.size(0);
  UNL_CHECK(past + input_ids.size(1) <= max_positions,
            fmt::format("sequence of {} positions ({} cached + {} new) exceeds the model's {} "
                        "position embeddings",
                        past + input_ids.size(1), past, input_ids.size(1), max_positions),
            "shorten the sequences or max_new_tokens (max_position_embeddings in config.json)");
  auto ctx = detail::make_attention_context(input_ids, attention_mask, past,
                                            any_local ? window_size : 0);
  auto x = wte->forward(input_ids) + wpe->forward(ctx.position_ids);
  x = forward_blocks(blocks, x, cache, [ctx](GptNeoBlockImpl& block, const torch::Tensor& y, KVCache* c, size_t i) {
    return block.forward(y, ctx, c, i);
  });
  return ln_f->forward(x);
}

GptNeoForCausalLMImpl::GptNeoForCausalLMImpl(const ModelConfig& config) : CausalLMImpl(config) {
  transformer = register_module("transformer", GptNeoModel(config_));
  if (!config_.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config_.hidden_size, config_.vocab_size)
                                         .bias(false)));
  }
  detail::init_hf_weights(*this, 0.02);
}

LMOutput GptNeoForCausalLMImpl::forward(const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask, KVCache* cache,
                                        bool compute_logits) {
  LMOutput out;
  out.hidden = transformer->forward(input_ids, attention_mask, cache);
  if (compute_logits) {
    out.logits = detail::lm_logits(out.hidden, lm_head ? lm_head->weight : transformer->wte->weight);
  }
  return out;
}

}  // namespace unl::model
