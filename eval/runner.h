// The one model runner behind every task (lm-evaluation-harness style): a task turns documents
// into requests, the runner batches them and returns one Output per request. Three request
// kinds: log-likelihood of a continuation, per-sequence scores from one teacher-forced forward
// (loss, Min-k%, Min-k%++, exact memorisation, extraction strength), and greedy generation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "model/causal_lm.h"

namespace unl::eval {

enum class RequestKind { kLoglik, kScore, kGenerate };

/// kLoglik: `context` then `continuation` (both non-empty, total <= the model's positions).
/// kScore: `context` is the sequence (>= 2 tokens). kGenerate: `context` is the prompt.
struct Request {
  std::vector<int64_t> context, continuation;
  /// kGenerate: new tokens for this request (<= 0: RunnerOptions::max_new_tokens). A batch
  /// generates its longest budget; each row is cut to its own.
  int64_t max_new_tokens = 0;
  int64_t length() const { return static_cast<int64_t>(context.size() + continuation.size()); }
};

/// kLoglik: values = {sum log p(continuation | context), all continuation tokens greedy (0/1)},
///          tokens = the argmax token at each continuation position.
/// kScore: values indexed by ScoreField. kGenerate: tokens = the greedy continuation, cut
///          before the first EOS.
struct Output {
  int64_t index = -1;
  std::vector<double> values;
  std::vector<int64_t> tokens;
};

enum ScoreField : int { kLoss = 0, kMinK, kMinKPlusPlus, kExactMemorization, kExtractionStrength, kTokens, kNumScoreFields };

struct RunnerOptions {
  int64_t batch_size = 16;
  int64_t pad_token_id = 0;
  double min_k = 0.4;            // fraction of lowest-scoring tokens Min-k% and Min-k%++ average
  int64_t max_new_tokens = 32;   // kGenerate
  int64_t eos_token_id = -1;     // kGenerate stops a row there (-1: never)
};

/// Requests grouped into batches: indices sorted by length, longest first (ties by index), cut
/// every batch_size. A pure function of the request lengths, so a batch is the same computation
/// on any number of ranks, which take whole batches: results are bit-identical for any world size.
std::vector<std::vector<int64_t>> plan_batches(const std::vector<int64_t>& lengths, int64_t batch_size);

/// Runs the requests `batch` (indices into `requests`) as one padded batch; one Output per index.
std::vector<Output> run_batch(model::CausalLMImpl& model, RequestKind kind, const std::vector<Request>& requests,
                              const std::vector<int64_t>& batch, const RunnerOptions& options);

/// Scores of one sequence from its logits [n, V] at the positions predicting `targets` (n tokens):
/// loss = mean NLL; Min-k% = -mean of the ceil-free max(1, int(n k)) lowest token log-probs;
/// Min-k%++ = -mean of the same count of lowest (log p - mu) / sigma, mu and sigma^2 the mean and
/// variance of log p under the model's own next-token distribution; exact memorisation = share of
/// argmax == target; extraction strength = 1 - k/n with k the smallest index whose whole
/// suffix is greedy-correct (k = n when even the last token is wrong). Higher loss / Min-k
/// scores = less like a member (open-unlearning's sign). Computed in float64.
std::vector<double> sequence_scores(const torch::Tensor& logits, const std::vector<int64_t>& targets, double min_k);

}  // namespace unl::eval
