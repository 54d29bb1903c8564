// Llama-family forward, matching transformers' modeling_llama.py (eager attention): fp32 RMSNorm,
// RoPE on q/k before caching, repeat_kv for grouped-query attention, fp32 softmax.
#include "model/llama.h"

#include <fmt/format.h>

#include <cmath>

#include "common/error.h"
#include "model/activation_checkpointing.h"

namespace unl::model {

torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaAttentionOptions& options_) : options(options_) {
  const int64_t e = options.hidden_size(), d = e / options.num_heads();
  auto lin = [&](int64_t in, int64_t out, bool bias) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
  };
  q_proj = register_module("q_proj", lin(e, options.num_heads() * d, options.qkv_bias()));
  k_proj = register_module("k_proj", lin(e, options.num_kv_heads() * d, options.qkv_bias()));
  v_proj = register_module("v_proj", lin(e, options.num_kv_heads() * d, options.qkv_bias()));
  o_proj = register_module("o_proj", lin(options.num_heads() * d, e, options.o_bias()));
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                                          const Rotary& rotary, KVCache* cache, size_t layer) {
  const int64_t heads = options.num_heads(), kv_heads = options.num_kv_heads();
  auto q = detail::split_heads(q_proj->forward(x), heads);
  auto k = detail::split_heads(k_proj->forward(x), kv_heads);
  q = q * rotary.cos + rotate_half(q) * rotary.sin;
  k = k * rotary.cos + rotate_half(k) * rotary.sin;
  auto kv = detail::append_kv(cache, layer, k, detail::split_heads(v_proj->forward(x), kv_heads));
  k = kv.first;
  auto v = kv.second;
  if (heads != kv_heads) {
    // repeat_kv: query head h reads kv head h / (heads / kv_heads).
    const int64_t rep = heads / kv_heads, b = k.size(0), t = k.size(2), d = k.size(3);
    k = k.unsqueeze(2).expand({b, kv_heads, rep, t, d}).reshape({b, heads, t, d});
    v = v.unsqueeze(2).expand({b, kv_heads, rep, t, d}).reshape({b, heads, t, d});
  }
  detail::ScoreRule rule;
  rule.multiply_by = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  rule.softmax_fp32 = true;
  auto out = detail::attend(q, k, v, ctx.blocked_local.defined() ? ctx.blocked_local : ctx.blocked, rule);
  return o_proj->forward(detail::merge_heads(out));
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaMLPOptions& options) {
  const int64_t e = options.hidden_size(), m = options.intermediate_size();
  gate_proj = register_module("gate_proj", torch::nn::Linear(torch::nn::LinearOptions(e, m).bias(false)));
  up_proj = register_module("up_proj", torch::nn::Linear(torch::nn::LinearOptions(e, m).bias(false)));
  down_proj = register_module("down_proj", torch::nn::Linear(torch::nn::LinearOptions(m, e).bias(false)));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) {
  return down_proj->forward(torch::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const ModelConfig& c) {
  input_layernorm = register_module("input_layernorm", detail::RMSNorm(c.hidden_size, c.rms_norm_eps));
  self_attn = register_module(
      "self_attn", LlamaAttention(LlamaAttentionOptions(c.hidden_size, c.num_heads, c.num_kv_heads)
                                      .qkv_bias(c.qkv_bias || c.attention_bias)
                                      .o_bias(c.attention_bias)));
  post_attention_layernorm =
      register_module("post_attention_layernorm", detail::RMSNorm(c.hidden_size, c.rms_norm_eps));
  mlp = register_module("mlp", LlamaMLP(LlamaMLPOptions(c.hidden_size, c.intermediate_size)));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x,
                                             const detail::AttentionContext& ctx,
                                             const Rotary& rotary, KVCache* cache, size_t layer) {
  auto h = x + self_attn->forward(input_layernorm->forward(x), ctx, rotary, cache, layer);
  return h + mlp->forward(post_attention_layernorm->forward(h));
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& c)
    : head_dim(c.head_dim()),
      rope_theta(c.rope_theta),
      sliding_window(c.sliding_window),
      max_positions(c.max_position_embeddings) {
  auto emb = torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size);
  // HF passes pad_token_id as padding_idx: that row starts at zero and never gets a gradient.
  if (c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size) emb.padding_idx(c.pad_token_id);
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(emb));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    decoder_layers.push_back(LlamaDecoderLayer(c));
    layers->push_back(decoder_layers.back());
  }
  norm = register_module("norm", detail::RMSNorm(c.hidden_size, c.rms_norm_eps));
}

Rotary LlamaModelImpl::rotary(const torch::Tensor& position_ids, torch::ScalarType dtype) const {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat).device(position_ids.device());
  auto exponents = torch::arange(0, head_dim, 2, f32.dtype(torch::kLong)).to(torch::kFloat) /
                   static_cast<double>(head_dim);
  auto inv_freq = torch::pow(rope_theta, exponents).reciprocal();  // [D/2]
  auto freqs = position_ids.to(torch::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  auto angles = torch::cat({freqs, freqs}, -1).unsqueeze(1);            // [B, 1, T, D]
  return Rotary{angles.cos().to(dtype), angles.sin().to(dtype)};
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& input_ids,
                                      const torch::Tensor& attention_mask, KVCache* cache) {
  const int64_t past = cache ? cache->length() : 0;
  // RoPE has no table to run out of, but a sequence longer than the model was trained for is a
  // data mistake, and attention over it allocates T x T scores: refuse it before anything is sized.
  UNL_CHECK(past + input_ids.size(1) <= max_positions,
            fmt::format("sequence of {} positions ({} cached + {} new) exceeds the model's "
                        "max_position_embeddings of {}",
                        past + input_ids.size(1), past, input_ids.size(1), max_positions),
            "shorten the sequences or max_new_tokens (max_position_embeddings in config.json)");
  // HF Mistral's sliding window: query i sees key j iff 0 <= i - j < sliding_window, the same
  // rule as GPT-Neo's local layers.
  auto ctx = detail::make_attention_context(input_ids, attention_mask, past,
                                            sliding_window > 0 ? sliding_window : 0);
  auto x = embed_tokens->forward(input_ids);
  auto rot = rotary(ctx.position_ids, x.scalar_type());
  x = forward_blocks(decoder_layers, x, cache,
                     [ctx, rot](LlamaDecoderLayerImpl& layer, const torch::Tensor& y, KVCache* c, size_t i) {
                       return layer.forward(y, ctx, rot, c, i);
                     });
  return norm->forward(x);
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const ModelConfig& config) : CausalLMImpl(config) {
  model = register_module("model", LlamaModel(config_));
  if (!config_.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config_.hidden_size, config_.vocab_size)
                                         .bias(false)));
  }
  detail::init_hf_weights(*this, 0.02);
  const int64_t pad = config_.pad_token_id;
  if (pad >= 0 && pad < config_.vocab_size) {
    torch::NoGradGuard no_grad;
    model->embed_tokens->weight[pad].zero_();
  }
}

LMOutput LlamaForCausalLMImpl::forward(const torch::Tensor& input_ids,
                                       const torch::Tensor& attention_mask, KVCache* cache,
                                       bool compute_logits) {
  LMOutput out;
  out.hidden = model->forward(input_ids, attention_mask, cache);
  if (compute_logits) {
    out.logits = detail::lm_logits(out.hidden, lm_head ? lm_head->weight : model->embed_tokens->weight);
  }
  return out;
}

}  // namespace unl::model
