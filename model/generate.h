// Batched generation with a KV cache: greedy and beam search over left-padded prompts.
#pragma once

#include <torch/torch.h>

#include "model/causal_lm.h"

namespace unl::model {

struct GenerateOptions {
  int64_t max_new_tokens = 50;
  int64_t num_beams = 1;         // 1 = greedy
  int64_t eos_token_id = -1;     // -1: never stop early
  int64_t pad_token_id = 0;      // fills positions after a row finished
  double length_penalty = 1.0;   // beam scores are sum logprob / len^length_penalty (HF default)
};

/// prompts: input_ids [B, T] left padded, attention_mask [B, T]. Returns only the new tokens,
/// [B, max_new_tokens] int64, pad_token_id after a row's EOS. Runs under NoGradGuard.
torch::Tensor generate(CausalLMImpl& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerateOptions& options);

/// Beam search for any num_beams >= 1 (generate() uses it when num_beams > 1; num_beams = 1 here is
/// beam search, which differs from greedy only when a beam ends in EOS). HF semantics
/// (transformers >= 4.36 BeamSearchScorer, early_stopping = false): 2 * num_beams candidates a
/// step, EOS candidates ranked below num_beams ignored, finished hypotheses scored
/// sum logprob / generated_len^length_penalty (EOS counted), a row stops when its worst kept
/// hypothesis beats the best running score / cur_len^length_penalty; returns the best hypothesis,
/// then EOS, then pad.
torch::Tensor beam_search(CausalLMImpl& model, const torch::Tensor& input_ids,
                          const torch::Tensor& attention_mask, const GenerateOptions& options);

/// The textbook reference: greedy decoding that re-runs the whole prefix every token (no cache).
torch::Tensor greedy_uncached(CausalLMImpl& model, const torch::Tensor& input_ids,
                              const torch::Tensor& attention_mask, const GenerateOptions& options);

}  // namespace unl::model
