// Pieces the three architectures share: the per-forward attention context (position ids and
// masks built once), the masked attention kernel, KV-cache append, GPT-2 Conv1D and RMSNorm.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "model/causal_lm.h"

namespace unl::model::detail {

/// What every layer of one forward needs about positions, built once per forward.
struct AttentionContext {
  int64_t past = 0;             // cached positions before the new tokens
  torch::Tensor position_ids;   // [B, T] int64: cumsum(mask) - 1 clamped at 0
  torch::Tensor blocked;        // [B|1, 1, T, past+T] bool, true = key hidden (future or pad)
  torch::Tensor blocked_local;  // same plus keys >= window behind the query (GPT-Neo local)
};

/// Checks input_ids / attention_mask shapes against the cache and builds the context.
/// window > 0 also builds blocked_local (HF: tril(ones) ^ tril(ones, -window)).
AttentionContext make_attention_context(const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask, int64_t past,
                                        int64_t window);

/// torch.finfo(dtype).min: the finite value HF uses for masked scores, so a row whose keys are
/// all hidden gives a uniform softmax instead of NaN.
double mask_value(torch::ScalarType dtype);

/// [B, T, H*D] -> [B, H, T, D] (a view).
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads);
/// [B, H, T, D] -> [B, T, H*D].
torch::Tensor merge_heads(const torch::Tensor& x);

/// How one family turns q k^T into probabilities (each matches its HF eager attention).
struct ScoreRule {
  bool scores_fp32 = false;   // GPT-Neo: q and k upcast before the matmul
  double divide_by = 1.0;     // GPT-2: scores / sqrt(head_dim)
  double multiply_by = 1.0;   // Llama: scores * head_dim^-0.5
  bool softmax_fp32 = false;  // Llama: softmax in fp32, then back to the query dtype
};

/// softmax(rule(q k^T) masked by `blocked`) v, on [B, H, T, D] tensors; k/v may have T_k rows.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& blocked, const ScoreRule& rule);

/// Appends this forward's keys/values to layer `layer` of the cache (when given) and returns
/// the keys/values attention must read (past + new).
std::pair<torch::Tensor, torch::Tensor> append_kv(KVCache* cache, size_t layer,
                                                  torch::Tensor k, torch::Tensor v);

/// Logits in fp32 from the final hidden state and the [V, H] output embedding.
torch::Tensor lm_logits(const torch::Tensor& hidden, const torch::Tensor& weight);

/// GPT-2's Conv1D: a linear layer whose weight is stored [in, out] (x @ W + b).
class Conv1DImpl : public torch::nn::Module {
 public:
  Conv1DImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Conv1D);

/// Llama RMSNorm: normalised in fp32, cast back, then scaled (HF's order of operations).
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

/// HF _init_weights: weights normal(0, std), biases zero, norm weights one. Norm parameters are
/// recognised by name (ln_*, *norm*). `std_for` may override the std per parameter name.
void init_hf_weights(torch::nn::Module& module, double std,
                     const std::function<double(const std::string&)>& std_for = nullptr);

}  // namespace unl::model::detail
