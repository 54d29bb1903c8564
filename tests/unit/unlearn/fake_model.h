// A tiny table-driven causal LM for unlearn tests: logits[b,t] = cur[x_t] + prev[x_prev] +
// pos[position_t], where x_prev is the last real token before t (read through the KV cache and
// the attention mask) and position_t = cumsum(mask) - 1. Greedy continuations are predictable by
// hand, and `cur` is a trainable parameter, so losses and gradients can be checked exactly.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/causal_lm.h"

namespace unl::unlearn::testing {

class TableLMImpl : public model::CausalLMImpl {
 public:
  /// cur [V, V] (trainable); prev [V, V] and pos [P, V] optional (undefined = 0).
  TableLMImpl(torch::Tensor cur, torch::Tensor prev = {}, torch::Tensor pos = {})
      : model::CausalLMImpl(make_config(cur.size(0))) {
    this->cur = register_parameter("cur", cur.to(torch::kFloat).clone());
    this->prev = prev;
    this->pos = pos;
  }

  static model::ModelConfig make_config(int64_t vocab) {
    model::ModelConfig c;
    c.vocab_size = vocab;
    c.hidden_size = vocab;
    c.num_layers = 1;
    c.num_heads = 1;
    c.num_kv_heads = 1;
    return c;
  }

  model::LMOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                          model::KVCache* cache = nullptr, bool compute_logits = true) override {
    const int64_t B = input_ids.size(0), T = input_ids.size(1);
    const int64_t past = cache ? cache->length() : 0;
    auto mask = attention_mask.defined() ? attention_mask.to(torch::kInt64).cpu()
                                         : torch::ones({B, past + T}, torch::kInt64);
    EXPECT_EQ(mask.size(1), past + T) << "mask must cover past + new tokens";
    // The cache holds the token ids themselves, laid out [B, heads=1, T, head_dim=1].
    auto keys = input_ids.to(torch::kFloat).view({B, 1, T, 1});
    if (past > 0) keys = torch::cat({cache->keys[0], keys}, 2);
    if (cache) {
      cache->keys = {keys};
      cache->values = {keys};
    }
    ++forward_calls;
    auto ids = input_ids.cpu();
    auto all = keys.view({B, past + T}).to(torch::kInt64);
    auto positions = (mask.cumsum(1) - 1).clamp_min(0);
    model::LMOutput out;
    out.hidden = torch::one_hot(ids, cur.size(0)).to(torch::kFloat);
    if (!compute_logits) return out;
    auto logits = cur.index_select(0, ids.reshape({-1})).view({B, T, -1});
    if (prev.defined() || pos.defined()) {
      auto extra = torch::zeros({B, T, cur.size(0)});
      auto ma = mask.accessor<int64_t, 2>();
      auto aa = all.accessor<int64_t, 2>();
      auto pa = positions.accessor<int64_t, 2>();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
          const int64_t at = past + t;
          if (prev.defined())
            for (int64_t j = at - 1; j >= 0; --j)
              if (ma[b][j]) {
                extra[b][t] += prev[aa[b][j]];
                break;
              }
          if (pos.defined()) extra[b][t] += pos[pa[b][at]];
        }
      logits = logits + extra;
    }
    out.logits = logits;
    return out;
  }

  torch::Tensor cur, prev, pos;
  int64_t forward_calls = 0;
};
TORCH_MODULE(TableLM);

/// A bigram table whose greedy successor of v is succ[v] (logit 1 vs 0).
inline torch::Tensor successor_table(const std::vector<int64_t>& succ) {
  const int64_t V = static_cast<int64_t>(succ.size());
  auto t = torch::zeros({V, V});
  for (int64_t v = 0; v < V; ++v) t[v][succ[v]] = 1.0;
  return t;
}

}  // namespace unl::unlearn::testing
