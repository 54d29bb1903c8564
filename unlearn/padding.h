// Internal helpers of unl::unlearn: turning token-id vectors into padded batches on the model's
// device (right padding for teacher-forced forwards, left padding for generation).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "model/causal_lm.h"

namespace unl::unlearn {

struct Padded {
  torch::Tensor ids;   // [B, L] int64, CPU
  torch::Tensor mask;  // [B, L] int64, CPU, 1 = real token
};

/// Rows seqs[b0, b1) padded on the right to the longest row (at least min_len columns).
Padded pad_right(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1,
                 int64_t pad_token_id, int64_t min_len = 1);
/// Rows padded on the left (real tokens end at the last column), as generation expects.
Padded pad_left(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1,
                int64_t pad_token_id, int64_t min_len = 1);

/// The device of the model's first parameter (CPU for a model without parameters).
torch::Device model_device(model::CausalLMImpl& model);

}  // namespace unl::unlearn
