// GPT-2 as in transformers' modeling_gpt2.py: Conv1D weights stored [in, out], fused c_attn,
// scores scaled by 1/sqrt(head_dim), gelu_new MLP, lm_head tied to wte.
#pragma once

#include <torch/torch.h>

#include "model/causal_lm.h"
#include "model/nets_common.h"

namespace unl::model {

struct Gpt2AttentionOptions {
  Gpt2AttentionOptions(int64_t hidden_size, int64_t num_heads)
      : hidden_size_(hidden_size), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, num_heads);
};

/// HF GPT2Attention (self-attention only): c_attn [E, 3E] -> q|k|v, c_proj [E, E].
class Gpt2AttentionImpl : public torch::nn::Module {
 public:
  explicit Gpt2AttentionImpl(const Gpt2AttentionOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        KVCache* cache, size_t layer);
  Gpt2AttentionOptions options;
  detail::Conv1D c_attn{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Gpt2Attention);

struct Gpt2MLPOptions {
  Gpt2MLPOptions(int64_t hidden_size, int64_t intermediate_size)
      : hidden_size_(hidden_size), intermediate_size_(intermediate_size) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, intermediate_size);
};

/// c_fc (Conv1D) -> gelu_new -> c_proj (Conv1D).
class Gpt2MLPImpl : public torch::nn::Module {
 public:
  explicit Gpt2MLPImpl(const Gpt2MLPOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  detail::Conv1D c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Gpt2MLP);

/// Pre-norm residual block, as GPT-Neo's.
class Gpt2BlockImpl : public torch::nn::Module {
 public:
  explicit Gpt2BlockImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        KVCache* cache, size_t layer);
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  Gpt2Attention attn{nullptr};
  Gpt2MLP mlp{nullptr};
};
TORCH_MODULE(Gpt2Block);

/// HF GPT2Model ("transformer").
class Gpt2ModelImpl : public torch::nn::Module {
 public:
  explicit Gpt2ModelImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        KVCache* cache);
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  torch::nn::ModuleList h{nullptr};
  std::vector<Gpt2Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Gpt2Model);

/// GPT2LMHeadModel.
class Gpt2ForCausalLMImpl : public CausalLMImpl {
 public:
  explicit Gpt2ForCausalLMImpl(const ModelConfig& config);
  LMOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                   KVCache* cache = nullptr, bool compute_logits = true) override;
  Gpt2Model transformer{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when untied
};

}  // namespace unl::model
