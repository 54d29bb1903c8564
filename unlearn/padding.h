// Internal helpers of unl::unlearn: turning token-id vectors into padded batches on the model's
// device (right padding for teacher-forced forwards, left padding for generation).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/token_mask.h"
#include "model/causal_lm.h"

namespace unl::unlearn {

struct Padded {
  torch::Tensor ids;   // [B, L] int64, CPU
  torch::Tensor mask;  // [B, L] int64, CPU: unl::kMaskPad / kMaskToken / kMaskPrompt
};

/// Rows seqs[b0, b1) padded on the right to the longest row (at least min_len columns).
/// prompt_lens (indexed like seqs; empty: none) marks each row's first tokens unl::kMaskPrompt.
Padded pad_right(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1,
                 int64_t pad_token_id, int64_t min_len = 1, const std::vector<int64_t>& prompt_lens = {});
/// Rows padded on the left (real tokens end at the last column), as generation expects.
Padded pad_left(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1,
                int64_t pad_token_id, int64_t min_len = 1, const std::vector<int64_t>& prompt_lens = {});

/// The device of the model's first parameter (CPU for a model without parameters).
torch::Device model_device(model::CausalLMImpl& model);

}  // namespace unl::unlearn
