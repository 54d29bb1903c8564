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

struct BertEncoder;

struct EvalOptions {
  int n = 10;                  // EL_n
  int64_t suffix_start = 150;  // s: EL_n averages over prefixes x_<i for i = s .. T-n (1 = Jang et al.)
  int64_t prompt_begin = 100;  // continuation check: first prompt token (official ICU: 100)
  int64_t prefix_len = 50;     // continuation check: prompt length
  int64_t gen_len = 50;        // continuation check: tokens generated and compared
  int64_t num_beams = 2;       // continuation generation beams (official ICU: 2)
  /// BERTScore of the continuation as well (nullptr: BLEU only), with the layer/batch options.
  const BertEncoder* bertscore_encoder = nullptr;
  int64_t bertscore_layers = 9;
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

/// Prompt lengths: every function taking `prompt_lens` (one per sequence, empty: all 0) treats
/// tokens [0, prompt_lens[j]) of sequence j as the prompt of a question/answer or chat sample:
/// context that is never a target (unl::kMaskPrompt). MA and CE count only response tokens, EL_n
/// averages over prefixes that hold the whole prompt, and the continuation check prompts with the
/// prompt and compares with the response.

/// MA, mean token CE and counted targets of each sequence from one teacher-forced forward per
/// batch (right padded). A sequence with no target (one token) has ma = loss = 0.
struct TeacherForcedMetrics {
  std::vector<double> ma, loss;
  std::vector<int64_t> tokens;
};
TeacherForcedMetrics teacher_forced_metrics(model::CausalLMImpl& model,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            int64_t batch_size, int64_t pad_token_id,
                                            const std::vector<int64_t>& prompt_lens = {});

/// MA of each sequence from one teacher-forced forward (batched).
std::vector<double> memorization_accuracy(model::CausalLMImpl& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const EvalOptions& options,
                                          const std::vector<int64_t>& prompt_lens = {});
/// EL_n of each sequence (exactly the reference's value): one left-padded prefill per batch of
/// batch_size sequences gives every prefix's first greedy token and its keys/values; prefixes
/// whose first greedy token is the true one reuse the next prefix's continuation, and the rest
/// decode batch_size rows at a time from the prefill's KV cache re-laid out per row.
/// EL_n generates exactly T - i tokens per prefix (EOS does not stop it). Sequences with
/// T - s - n + 1 < 1 (too short) score 0. A sequence with a prompt of P tokens averages over
/// i = P .. T-n instead (suffix_start is for text: the prompt is the given prefix, the response
/// what is extracted).
std::vector<double> extraction_likelihood(model::CausalLMImpl& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const EvalOptions& options,
                                          const std::vector<int64_t>& prompt_lens = {});
/// The textbook EL_n: every prefix decoded alone without a cache (reference for tests/bench).
std::vector<double> extraction_likelihood_reference(model::CausalLMImpl& model,
                                                    const std::vector<std::vector<int64_t>>& seqs,
                                                    const EvalOptions& options,
                                                    const std::vector<int64_t>& prompt_lens = {});

/// Where the continuation check of a T-token sequence prompts and compares: prompt tokens
/// [begin, prompt_end), reference [prompt_end, end). With T >= prompt_begin + prefix_len + gen_len
/// it is the configured window (`full`). A shorter sequence is scored on what exists: the window
/// slides back to end at T, and when T < prefix_len + gen_len the prompt and the reference split
/// the T tokens in the ratio prefix_len : gen_len (at least one token each). T < 2: empty.
/// A sample with a prompt (prompt_len > 0) prompts with its prompt and compares with its
/// response: [0, prompt_len) -> [prompt_len, T), marked full.
struct ContinuationWindow {
  int64_t begin = 0, prompt_end = 0, end = 0;
  bool full = false;
  bool empty() const { return prompt_end <= begin || end <= prompt_end; }
};
ContinuationWindow continuation_window(int64_t length, const EvalOptions& options, int64_t prompt_len = 0);

/// A sample's continuation check as text: what anyone needs to recompute the verdict.
struct ContinuationText {
  std::string prompt, generated, reference;
  bool full_window = false;
};

/// Decodes token ids to text for BLEU (the tokenizer lives in model/, passed in by the caller).
using DecodeFn = std::function<std::string(const std::vector<int64_t>&)>;

/// All metrics of each sequence (ids are copied through). decode == nullptr: bleu stays 0.
/// BLEU: num_beams-beam generation of gen_len tokens after the first prefix_len tokens, cut at
/// the first eos_token_id (when >= 0), against tokens [prefix_len, prefix_len + gen_len), both
/// decoded and scored with nltk_bleu4 (unlearn/bleu.h: lower-cased, NLTK word_tokenize,
/// sentence_bleu); a sequence with no token after the prompt scores 0.
/// With options.bertscore_encoder, BERTScore-F1 of the same texts too (else bertscore = -1).
/// `texts` (optional) receives each sample's prompt, continuation and reference text.
std::vector<SampleMetrics> evaluate_samples(model::CausalLMImpl& model,
                                            const std::vector<int64_t>& ids,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            const EvalOptions& options, const DecodeFn& decode,
                                            std::vector<ContinuationText>* texts = nullptr,
                                            const std::vector<int64_t>& prompt_lens = {});

/// Sum of token CE and token count over sequences (perplexity = exp(sum / count), formed by the
/// caller after reducing over ranks).
std::pair<double, int64_t> cross_entropy_sum(model::CausalLMImpl& model,
                                             const std::vector<std::vector<int64_t>>& seqs,
                                             int64_t batch_size, int64_t pad_token_id,
                                             const std::vector<int64_t>& prompt_lens = {});

}  // namespace unl::unlearn
