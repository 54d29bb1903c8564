// GPT-2 forward, matching transformers' modeling_gpt2.py (eager attention): x @ W + b Conv1D,
// scores / sqrt(head_dim) in the weights' dtype, masked with finfo.min.
#include "model/gpt2.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "model/activation_checkpointing.h"

namespace unl::model {

Gpt2AttentionImpl::Gpt2AttentionImpl(const Gpt2AttentionOptions& options_) : options(options_) {
  const int64_t e = options.hidden_size();
  c_attn = register_module("c_attn", detail::Conv1D(e, 3 * e));
  c_proj = register_module("c_proj", detail::Conv1D(e, e));
}

torch::Tensor Gpt2AttentionImpl::forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                                         KVCache* cache, size_t layer) {
  const int64_t e = options.hidden_size(), heads = options.num_heads();
  auto qkv = c_attn->forward(x);
  auto q = detail::split_heads(qkv.narrow(2, 0, e), heads);
  auto kv = detail::append_kv(cache, layer, detail::split_heads(qkv.narrow(2, e, e), heads),
                              detail::split_heads(qkv.narrow(2, 2 * e, e), heads));
  detail::ScoreRule rule;
  rule.divide_by = std::sqrt(static_cast<double>(e / heads));
  auto out = detail::attend(q, kv.first, kv.second, ctx.blocked, rule);
  return c_proj->forward(detail::merge_heads(out));
}

Gpt2MLPImpl::Gpt2MLPImpl(const Gpt2MLPOptions& options) {
  c_fc = register_module("c_fc", detail::Conv1D(options.hidden_size(), options.intermediate_size()));
  c_proj = register_module("c_proj", detail::Conv1D(options.intermediate_size(), options.hidden_size()));
}

torch::Tensor Gpt2MLPImpl::forward(const torch::Tensor& x) {
  return c_proj->forward(torch::gelu(c_fc->forward(x), "tanh"));
}

Gpt2BlockImpl::Gpt2BlockImpl(const ModelConfig& c) {
  auto ln = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
  };
  ln_1 = register_module("ln_1", ln());
  attn = register_module("attn", Gpt2Attention(Gpt2AttentionOptions(c.hidden_size, c.num_heads)));
  ln_2 = register_module("ln_2", ln());
  mlp = register_module("mlp", Gpt2MLP(Gpt2MLPOptions(c.hidden_size, c.intermediate_size)));
}

torch::Tensor Gpt2BlockImpl::forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                                     KVCache* cache, size_t layer) {
  auto h = x + attn->forward(ln_1->forward(x), ctx, cache, layer);
  return h + mlp->forward(ln_2->forward(h));
}

Gpt2ModelImpl::Gpt2ModelImpl(const ModelConfig& c) {
  wte = register_module("wte", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  wpe = register_module("wpe", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    blocks.push_back(Gpt2Block(c));
    h->push_back(blocks.back());
  }
  ln_f = register_module(
      "ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

torch::Tensor Gpt2ModelImpl::forward(const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask, KVCache* cache) {
  const int64_t past = cache ? cache->length() : 0;
  // Checked before the attention context: its masks are sized by the sequence length.
  const int64_t max_positions = wpe->weight.size(0);
  UNL_CHECK(past + input_ids.size(1) <= max_positions,
            fmt::format("sequence of {} positions ({} cached + {} new) exceeds the model's {} "
                        "position embeddings",
                        past + input_ids.size(1), past, input_ids.size(1), max_positions),
            "shorten the sequences or max_new_tokens (max_position_embeddings in config.json)");
  auto ctx = detail::make_attention_context(input_ids, attention_mask, past, 0);
  auto x = wte->forward(input_ids) + wpe->forward(ctx.position_ids);
  x = forward_blocks(blocks, x, cache, [ctx](Gpt2BlockImpl& block, const torch::Tensor& y, KVCache* c, size_t i) {
    return block.forward(y, ctx, c, i);
  });
  return ln_f->forward(x);
}

Gpt2ForCausalLMImpl::Gpt2ForCausalLMImpl(const ModelConfig& config) : CausalLMImpl(config) {
  transformer = register_module("transformer", Gpt2Model(config_));
  if (!config_.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config_.hidden_size, config_.vocab_size)
                                         .bias(false)));
  }
  // HF GPT2PreTrainedModel: residual projections (c_proj) get std / sqrt(2 * n_layer).
  const double std = 0.02, proj_std = std / std::sqrt(2.0 * static_cast<double>(config_.num_layers));
  detail::init_hf_weights(*this, std, [&](const std::string& name) {
    const std::string suffix = "c_proj.weight";
    const bool proj = name.size() >= suffix.size() &&
                      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    return proj ? proj_std : std;
  });
}

LMOutput Gpt2ForCausalLMImpl::forward(const torch::Tensor& input_ids,
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
