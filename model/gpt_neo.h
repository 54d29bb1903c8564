// GPT-Neo (EleutherAI) as in transformers' modeling_gpt_neo.py: unscaled fp32 attention scores,
// alternating global/local (windowed) layers, gelu_new MLP, lm_head tied to wte.
#pragma once

#include <torch/torch.h>

#include "model/causal_lm.h"
#include "model/nets_common.h"

namespace unl::model {

struct GptNeoAttentionOptions {
  GptNeoAttentionOptions(int64_t hidden_size, int64_t num_heads)
      : hidden_size_(hidden_size), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(bool, local) = false;       // local layers see only the last window_size keys
  TORCH_ARG(int64_t, window_size) = 256;
};

/// HF GPTNeoSelfAttention: q/k/v without bias, out_proj with bias, no 1/sqrt(d) scaling.
class GptNeoSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit GptNeoSelfAttentionImpl(const GptNeoAttentionOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        KVCache* cache, size_t layer);
  GptNeoAttentionOptions options;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(GptNeoSelfAttention);

/// HF GPTNeoAttention: only a holder, so parameter names read "attn.attention.q_proj".
class GptNeoAttentionImpl : public torch::nn::Module {
 public:
  explicit GptNeoAttentionImpl(const GptNeoAttentionOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        KVCache* cache, size_t layer) {
    return attention->forward(x, ctx, cache, layer);
  }
  GptNeoSelfAttention attention{nullptr};
};
TORCH_MODULE(GptNeoAttention);

struct GptNeoMLPOptions {
  GptNeoMLPOptions(int64_t hidden_size, int64_t intermediate_size)
      : hidden_size_(hidden_size), intermediate_size_(intermediate_size) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, intermediate_size);
};

/// c_fc -> gelu_new (tanh approximation) -> c_proj, both nn.Linear with bias.
class GptNeoMLPImpl : public torch::nn::Module {
 public:
  explicit GptNeoMLPImpl(const GptNeoMLPOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(GptNeoMLP);

struct GptNeoBlockOptions {
  explicit GptNeoBlockOptions(const ModelConfig& config, bool local)
      : config_(config), local_(local) {}
  TORCH_ARG(ModelConfig, config);
  TORCH_ARG(bool, local);
};

/// Pre-norm residual block: x + attn(ln_1(x)), then + mlp(ln_2(.)).
class GptNeoBlockImpl : public torch::nn::Module {
 public:
  explicit GptNeoBlockImpl(const GptNeoBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const detail::AttentionContext& ctx,
                        KVCache* cache, size_t layer);
  bool local;
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  GptNeoAttention attn{nullptr};
  GptNeoMLP mlp{nullptr};
};
TORCH_MODULE(GptNeoBlock);

/// HF GPTNeoModel ("transformer"): wte + wpe, the blocks, ln_f.
class GptNeoModelImpl : public torch::nn::Module {
 public:
  explicit GptNeoModelImpl(const ModelConfig& config);
  /// Final hidden state after ln_f.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        KVCache* cache);
  int64_t window_size;
  bool any_local = false;
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  torch::nn::ModuleList h{nullptr};
  std::vector<GptNeoBlock> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(GptNeoModel);

/// GPTNeoForCausalLM.
class GptNeoForCausalLMImpl : public CausalLMImpl {
 public:
  explicit GptNeoForCausalLMImpl(const ModelConfig& config);
  LMOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                   KVCache* cache = nullptr, bool compute_logits = true) override;
  GptNeoModel transformer{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when untied; tied logits use transformer.wte
};

}  // namespace unl::model
