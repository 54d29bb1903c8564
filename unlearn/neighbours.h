// Neighbour mining: embed forget samples and the retained pool, find each forget sample's exact
// nearest pool rows. Shardable: each rank searches its slice of the pool, rank 0 merges.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/causal_lm.h"

namespace unl::unlearn {

enum class Distance { kL2, kCosine };
Distance parse_distance(const std::string& name);  // "l2" | "cosine"

/// Mean-pooled final hidden state over tokens [span_begin, span_end) (clamped to each sequence),
/// [N, hidden] float32. Batched, under NoGradGuard.
torch::Tensor embed_sequences(model::CausalLMImpl& model,
                              const std::vector<std::vector<int64_t>>& seqs, int64_t span_begin,
                              int64_t span_end, int64_t batch_size, int64_t pad_token_id);

struct Candidate {
  int64_t query = -1;   // forget sample index
  int64_t pool_id = -1; // global pool row id
  double distance = 0;
};

/// Local top-k of each query against a slice of the pool whose global row ids are pool_ids.
/// Ties broken by the smaller pool id, so results are deterministic and world-size invariant.
std::vector<Candidate> local_topk(const torch::Tensor& queries, const torch::Tensor& pool,
                                  const std::vector<int64_t>& pool_ids, int64_t k, Distance d);

/// Merge candidate lists from all ranks: for each query the k best by (distance, pool_id).
/// Returns [num_queries][<=k] pool ids.
std::vector<std::vector<int64_t>> merge_topk(const std::vector<Candidate>& all, int64_t num_queries,
                                             int64_t k);

}  // namespace unl::unlearn
