// The Llama family (Llama, Mistral, Qwen2, TinyLlama) as in transformers' modeling_llama.py:
// RMSNorm, rotary embeddings (rotate_half convention), grouped-query attention, SwiGLU MLP.
#pragma once

#include <torch/torch.h>

#include "model/causal_lm.h"
#include "model/nets_common.h"

namespace unl::model {

struct LlamaAttentionOptions {
  LlamaAttentionOptions(int64_t hidden_size, int64_t num_heads, int64_t num_kv_heads)
      : hidden_size_(hidden_size), num_heads_(num_heads), num_kv_heads_(num_kv_heads) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, num_kv_heads);
  TORCH_ARG(bool, qkv_bias) = false;  // q/k/v projections carry biases (Qwen2, attention_bias)
  TORCH_ARG(bool, o_bias) = false;    // o_proj carries a bias (Llama attention_bias only)
};

/// Rotary cos/sin for one forward, [B, 1, T, head_dim] in the activations' dtype.
struct Rotary {
  torch::Tensor cos, sin;
};

/// HF LlamaAttention: RoPE on q and k, kv heads shared by num_heads / num_kv_heads query heads.
class LlamaAttentionImpl : public torch::nn::Module {
 public:
  explicit LlamaAttentionImpl(const LlamaAttentionOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        const Rotary& rotary, KVCache* cache, size_t layer);
  LlamaAttentionOptions options;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
};
TORCH_MODULE(LlamaAttention);

struct LlamaMLPOptions {
  LlamaMLPOptions(int64_t hidden_size, int64_t intermediate_size)
      : hidden_size_(hidden_size), intermediate_size_(intermediate_size) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, intermediate_size);
};

/// down_proj(silu(gate_proj(x)) * up_proj(x)), no biases.
class LlamaMLPImpl : public torch::nn::Module {
 public:
  explicit LlamaMLPImpl(const LlamaMLPOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMLP);

/// HF LlamaDecoderLayer.
class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit LlamaDecoderLayerImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        const Rotary& rotary, KVCache* cache, size_t layer);
  detail::RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

/// HF LlamaModel ("model").
class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        KVCache* cache);
  /// cos/sin of position_ids [B, T] (HF LlamaRotaryEmbedding, computed in fp32).
  Rotary rotary(const torch::Tensor& position_ids, torch::ScalarType dtype) const;
  int64_t head_dim;
  double rope_theta;
  int64_t sliding_window;  // Mistral: keys at most sliding_window - 1 behind; -1 = full
  int64_t max_positions;   // max_position_embeddings: longer sequences are refused
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  std::vector<LlamaDecoderLayer> decoder_layers;
  detail::RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

/// LlamaForCausalLM.
class LlamaForCausalLMImpl : public CausalLMImpl {
 public:
  explicit LlamaForCausalLMImpl(const ModelConfig& config);
  LMOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                   KVCache* cache = nullptr, bool compute_logits = true) override;
  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // absent when tie_word_embeddings
};

/// rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) (HF's non-interleaved convention).
torch::Tensor rotate_half(const torch::Tensor& x);

}  // namespace unl::model
