// The causal language model seam: every family (GPT-Neo, GPT-2, Llama) implements CausalLMImpl,
// so the method, metrics and run loop never know which architecture they drive.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/config.h"

namespace unl::model {

/// Keys and values of past positions for incremental decoding, one entry per layer.
struct KVCache {
  std::vector<torch::Tensor> keys;    // per layer [B, kv_heads, T_past, head_dim]
  std::vector<torch::Tensor> values;  // per layer [B, kv_heads, T_past, head_dim]
  int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
  /// Keep/reorder batch rows (beam search): index is int64 [B'] of rows to take.
  void select_rows(const torch::Tensor& index);
  void clear() { keys.clear(); values.clear(); }
};

struct LMOutput {
  torch::Tensor logits;  // [B, T, V], float32 (computed in fp32 even for bf16 weights)
  torch::Tensor hidden;  // [B, T, H], final hidden state after the final norm
};

/// A causal LM. Parameter names are the Hugging Face names (e.g. "transformer.h.0.attn.attention.
/// q_proj.weight" for GPT-Neo, "model.layers.0.self_attn.q_proj.weight" for Llama), so
/// named_parameters() maps one to one onto safetensors entries.
class CausalLMImpl : public torch::nn::Module {
 public:
  explicit CausalLMImpl(ModelConfig config) : config_(std::move(config)) {}
  ~CausalLMImpl() override = default;

  /// input_ids [B, T] int64. attention_mask [B, T_past + T] int64/bool, 1 = real token, 0 = pad
  /// (left padding); undefined means all ones. Position ids are cumsum(mask) - 1 (clamped at 0),
  /// as Hugging Face generate() does, so left-padded rows match unpadded ones. With a cache,
  /// past keys/values are read and the new ones appended. compute_logits = false skips lm_head.
  virtual LMOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                           KVCache* cache = nullptr, bool compute_logits = true) = 0;

  const ModelConfig& config() const { return config_; }

 protected:
  ModelConfig config_;
};

using CausalLM = std::shared_ptr<CausalLMImpl>;

/// A freshly constructed model of the config's family (weights initialised as HF does:
/// normal(0, 0.02) for linear/embedding weights, zeros for biases, ones for norm weights),
/// seeded by torch's global generator. Dropout is never applied.
CausalLM make_causal_lm(const ModelConfig& config);

/// A deep copy (same family, config and parameter values), e.g. the frozen KL reference.
CausalLM clone_causal_lm(CausalLMImpl& model);

/// Parameters by Hugging Face name, tied weights listed once (lm_head.weight omitted when tied).
std::vector<std::pair<std::string, torch::Tensor>> hf_state_dict(CausalLMImpl& model);

}  // namespace unl::model
