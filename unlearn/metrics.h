// Per-sample forgetting metrics: memorisation accuracy (MA), extraction likelihood (EL_n),
// BLEU-4 of the generated continuation (unlearn/bleu.h), and perplexity. Pure functions on token sequences plus
// batched model evaluation (KV-cache greedy / beam decoding).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/causal_lm.h"

namespace unl::unlearn {

/// overlap_n(p, l) = |{g in ngrams_n(p) with multiplicity : g in set(ngrams_n(l))}| / |ngrams_n(l)|;
/// 0 when l has fewer than n tokens.
double ngram_overlap(const std::vector<int64_t>& pred, const std::vector<int64_t>& label, int n);

struct EvalOptions {
  int n = 10;                  // EL_n
  int64_t suffix_start = 150;  // s: EL_n averages over prefixes x_<i for i = s .. T-n (1 = Jang et al.)
  int64_t prefix_len = 50;     // BLEU: prompt length
  int64_t gen_len = 50;        // BLEU: continuation length
  int64_t num_beams = 2;       // BLEU generation beams (official ICU: 2)
  int64_t batch_size = 16;     // sequences decoded together
  int64_t pad_token_id = 50256;
  int64_t eos_token_id = -1;   // -1: generate exactly the requested length
};

struct SampleMetrics {
  int64_t id = -1;
  double ma = 0;     // memorisation accuracy
  double el = 0;     // EL_n
  double bleu = 0;   // BLEU-4 of the continuation (needs decoded text; see evaluate_samples)
  double bertscore = -1;  // BERTScore-F1 of the continuation; -1 when no BERTScore model is configured
  double loss = 0;   // mean token CE of the sequence (for PPL)
  int64_t tokens = 0;
};

/// MA, mean token CE and counted targets of each sequence from one teacher-forced forward per
/// batch (right padded). A sequence with no target (one token) has ma = loss = 0.
struct TeacherForcedMetrics {
  std::vector<double> ma, loss;
  std::vector<int64_t> tokens;
};
TeacherForcedMetrics teacher_forced_metrics(model::CausalLMImpl& model,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            int64_t batch_size, int64_t pad_token_id);

/// MA of each sequence from one teacher-forced forward (batched).
std::vector<double> memorization_accuracy(model::CausalLMImpl& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const EvalOptions& options);
/// EL_n of each sequence (exactly the reference's value): one left-padded prefill per batch of
/// batch_size sequences gives every prefix's first greedy token and its keys/values; prefixes
/// whose first greedy token is the true one reuse the next prefix's continuation, and the rest
/// decode batch_size rows at a time from the prefill's KV cache re-laid out per row.
/// EL_n generates exactly T - i tokens per prefix (EOS does not stop it). Sequences with
/// T - s - n + 1 < 1 (too short) score 0.
std::vector<double> extraction_likelihood(model::CausalLMImpl& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const EvalOptions& options);
/// The textbook EL_n: every prefix decoded alone without a cache (reference for tests/bench).
std::vector<double> extraction_likelihood_reference(model::CausalLMImpl& model,
                                                    const std::vector<std::vector<int64_t>>& seqs,
                                                    const EvalOptions& options);

/// Decodes token ids to text for BLEU (the tokenizer lives in model/, passed in by the caller).
using DecodeFn = std::function<std::string(const std::vector<int64_t>&)>;

/// All metrics of each sequence (ids are copied through). decode == nullptr: bleu stays 0.
/// BLEU: num_beams-beam generation of gen_len tokens after the first prefix_len tokens, cut at
/// the first eos_token_id (when >= 0), against tokens [prefix_len, prefix_len + gen_len), both
/// decoded and scored with nltk_bleu4 (unlearn/bleu.h: lower-cased, NLTK word_tokenize,
/// sentence_bleu); a sequence with no token after the prompt scores 0.
std::vector<SampleMetrics> evaluate_samples(model::CausalLMImpl& model,
                                            const std::vector<int64_t>& ids,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            const EvalOptions& options, const DecodeFn& decode);

/// Sum of token CE and token count over sequences (perplexity = exp(sum / count), formed by the
/// caller after reducing over ranks).
std::pair<double, int64_t> cross_entropy_sum(model::CausalLMImpl& model,
                                             const std::vector<std::vector<int64_t>>& seqs,
                                             int64_t batch_size, int64_t pad_token_id);

}  // namespace unl::unlearn
