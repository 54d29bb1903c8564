// Loss terms as local sums over the real next-token targets of a batch, so the method can divide
// them by global (all-reduced) counts. Vocabulary-wide math runs in position chunks inside one
// fused autograd function: no [B, T, V] log-softmax is kept for backward.
#pragma once

#include <torch/torch.h>

#include "common/token_mask.h"

namespace unl::unlearn {

/// Which next-token targets count: [B, T] bool, true at position p (its logits predict ids[p+1])
/// when mask[p] is a real token (nonzero) and mask[p+1] is unl::kMaskToken; the last column is
/// always false. Padding is found by the attention mask, never by token id (a real EOS token is a
/// target like any other); prompt tokens (unl::kMaskPrompt) are context, never targets, so every
/// loss term, MA and perplexity see only the response of a question/answer or chat sample.
torch::Tensor target_positions(const torch::Tensor& attention_mask);
/// Number of counted targets (the normaliser of a token-mean term).
double target_count(const torch::Tensor& attention_mask);
/// Counted targets per row, [B] int64 on the mask's device.
torch::Tensor target_counts_per_row(const torch::Tensor& attention_mask);

/// Per-row sums of the token terms of one forward.
struct TokenTermSums {
  torch::Tensor nll;  // [B]: sum over counted targets of -log softmax(logits[b,p])[ids[b,p+1]]
  torch::Tensor kl;   // [B]: sum over counted positions of sum_v -P0 log softmax(logits[b,p])_v
                      //      (undefined when no reference is given)
};

/// The fused terms. logits [B, T, V] float32 (differentiable); ids/mask [B, T]. reference: the
/// frozen model's logits (or log-probabilities: softmax is invariant) for the same inputs, or an
/// undefined tensor. KL is computed from log-softmax, -sum_v P0 (x_v - logsumexp(x)); the official
/// code's -sum_v P0 log(softmax(x) + 1e-12) differs only by that epsilon (< 1e-12 / q relative).
/// Positions counted are exactly those of target_positions (so both terms share one normaliser).
TokenTermSums token_term_sums(const torch::Tensor& logits, const torch::Tensor& reference,
                              const torch::Tensor& ids, const torch::Tensor& mask);

/// Sum of token cross-entropy over counted targets: scalar, differentiable.
torch::Tensor token_ce_sum(const torch::Tensor& logits, const torch::Tensor& ids,
                           const torch::Tensor& mask);
/// Sum of the KL term (cross-entropy of softmax(theta) against P0 = softmax(reference)) over
/// counted positions: scalar, differentiable in logits only.
torch::Tensor kl_term_sum(const torch::Tensor& logits, const torch::Tensor& reference,
                          const torch::Tensor& ids, const torch::Tensor& mask);

}  // namespace unl::unlearn
