// Neighbour mining: mean-pooled hidden-state embeddings and exact, deterministic, shardable top-k.
#include "unlearn/neighbours.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "unlearn/padding.h"

namespace unl::unlearn {

Distance parse_distance(const std::string& name) {
  if (name == "l2") return Distance::kL2;
  if (name == "cosine") return Distance::kCosine;
  UNL_USAGE_ERROR("unknown neighbour distance '" + name + "'", "use \"l2\" or \"cosine\"");
}

torch::Tensor embed_sequences(model::CausalLMImpl& model,
                              const std::vector<std::vector<int64_t>>& seqs, int64_t span_begin,
                              int64_t span_end, int64_t batch_size, int64_t pad_token_id) {
  UNL_CHECK(batch_size > 0, "embedding batch size must be positive",
            "set neighbours.batch_size to 1 or more");
  torch::NoGradGuard no_grad;
  const auto device = model_device(model);
  const int64_t n = static_cast<int64_t>(seqs.size());
  std::vector<torch::Tensor> parts;
  for (int64_t b0 = 0; b0 < n; b0 += batch_size) {
    const int64_t b1 = std::min(n, b0 + batch_size);
    auto padded = pad_right(seqs, b0, b1, pad_token_id);
    auto hidden = model.forward(padded.ids.to(device), padded.mask.to(device), nullptr, false)
                      .hidden.to(torch::kFloat).cpu();
    // Weights select each row's span; a sequence too short for the span uses all its tokens.
    auto weights = torch::zeros({b1 - b0, padded.ids.size(1)}, torch::kFloat);
    auto wa = weights.accessor<float, 2>();
    for (int64_t r = 0; r < b1 - b0; ++r) {
      const int64_t len = static_cast<int64_t>(seqs[b0 + r].size());
      int64_t lo = std::max<int64_t>(0, span_begin), hi = std::min(len, span_end);
      if (lo >= hi) lo = 0, hi = len;
      for (int64_t t = lo; t < hi; ++t) wa[r][t] = 1.0f;
    }
    auto sums = (hidden * weights.unsqueeze(2)).sum(1);
    parts.push_back(sums / weights.sum(1, true).clamp_min(1.0f));
  }
  if (parts.empty()) {
    return torch::zeros({0, model.config().hidden_size}, torch::kFloat);
  }
  return torch::cat(parts, 0);
}

namespace {

bool better(const Candidate& a, const Candidate& b) {
  return a.distance != b.distance ? a.distance < b.distance : a.pool_id < b.pool_id;
}

}  // namespace

std::vector<Candidate> local_topk(const torch::Tensor& queries, const torch::Tensor& pool,
                                  const std::vector<int64_t>& pool_ids, int64_t k, Distance d) {
  UNL_CHECK(queries.dim() == 2 && pool.dim() == 2 && queries.size(1) == pool.size(1),
            "neighbour search needs [Q, H] queries and [P, H] pool embeddings of the same width",
            "embed both with the same model (embed_sequences)");
  UNL_CHECK(static_cast<int64_t>(pool_ids.size()) == pool.size(0),
            "neighbour search got " + std::to_string(pool_ids.size()) + " pool ids for " +
                std::to_string(pool.size(0)) + " pool rows",
            "pass one global row id per pool embedding");
  UNL_CHECK(k > 0, "neighbour count k must be positive", "ask for at least one neighbour per sample (k >= 1)");
  // Plain float64 loops: a (query, row) distance depends only on those two vectors, never on
  // which other rows share the slice or on BLAS blocking, so sharded and unsharded searches agree
  // exactly and ties are real ties.
  auto q64 = queries.to(torch::kCPU, torch::kDouble).contiguous();
  auto p64 = pool.to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t P = p64.size(0), H = p64.size(1);
  const double* pd = p64.data_ptr<double>();
  std::vector<double> pool_norm(P, 0.0);
  if (d == Distance::kCosine)
    for (int64_t j = 0; j < P; ++j) {
      double s = 0;
      for (int64_t h = 0; h < H; ++h) s += pd[j * H + h] * pd[j * H + h];
      pool_norm[j] = std::sqrt(s);
    }
  std::vector<Candidate> out;
  std::vector<double> dist(P);
  for (int64_t qi = 0; qi < q64.size(0); ++qi) {
    const double* q = q64.data_ptr<double>() + qi * H;
    if (d == Distance::kL2) {
      for (int64_t j = 0; j < P; ++j) {  // squared L2, as faiss IndexFlatL2 reports
        double s = 0;
        for (int64_t h = 0; h < H; ++h) {
          const double diff = pd[j * H + h] - q[h];
          s += diff * diff;
        }
        dist[j] = s;
      }
    } else {
      double qn = 0;
      for (int64_t h = 0; h < H; ++h) qn += q[h] * q[h];
      qn = std::sqrt(qn);
      for (int64_t j = 0; j < P; ++j) {  // 1 - cosine similarity; a zero vector counts as cos 0
        double dot = 0;
        for (int64_t h = 0; h < H; ++h) dot += pd[j * H + h] * q[h];
        const double denom = qn * pool_norm[j];
        dist[j] = 1.0 - (denom > 0 ? dot / denom : 0.0);
      }
    }
    std::vector<Candidate> cand;
    cand.reserve(P);
    for (int64_t j = 0; j < P; ++j) cand.push_back({qi, pool_ids[j], dist[j]});
    const int64_t keep = std::min<int64_t>(k, P);
    std::partial_sort(cand.begin(), cand.begin() + keep, cand.end(), better);
    out.insert(out.end(), cand.begin(), cand.begin() + keep);
  }
  return out;
}

std::vector<std::vector<int64_t>> merge_topk(const std::vector<Candidate>& all, int64_t num_queries,
                                             int64_t k) {
  std::vector<std::vector<Candidate>> per(num_queries);
  for (const auto& c : all) {
    UNL_CHECK(c.query >= 0 && c.query < num_queries,
              "neighbour candidate names query " + std::to_string(c.query) + " of " +
                  std::to_string(num_queries),
              "every rank must search with the same forget set");
    per[c.query].push_back(c);
  }
  std::vector<std::vector<int64_t>> out(num_queries);
  for (int64_t q = 0; q < num_queries; ++q) {
    auto& v = per[q];
    std::sort(v.begin(), v.end(), better);
    for (const auto& c : v) {
      if (static_cast<int64_t>(out[q].size()) >= k) break;
      if (std::find(out[q].begin(), out[q].end(), c.pool_id) == out[q].end())
        out[q].push_back(c.pool_id);
    }
  }
  return out;
}

}  // namespace unl::unlearn
