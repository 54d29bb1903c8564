// Exact top-k neighbours: brute force with ties, sharded search merged == unsharded, and the
// mean-pooled span embedding of a table model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <tuple>

#include "common/error.h"
#include "tests/unit/unlearn/fake_model.h"
#include "unlearn/neighbours.h"

namespace unl::unlearn {
namespace {

/// Brute force: all (distance, id) pairs sorted, the k smallest.
std::vector<std::vector<int64_t>> brute(const torch::Tensor& q, const torch::Tensor& p, int64_t k, Distance d) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < q.size(0); ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < p.size(0); ++j) {
      auto a = q[i].to(torch::kDouble), b = p[j].to(torch::kDouble);
      double dist = d == Distance::kL2 ? (a - b).pow(2).sum().item<double>()
                                       : 1.0 - (a.dot(b) / (a.norm() * b.norm())).item<double>();
      all.push_back({dist, j});
    }
    std::sort(all.begin(), all.end());
    std::vector<int64_t> ids;
    for (int64_t t = 0; t < std::min<int64_t>(k, p.size(0)); ++t) ids.push_back(all[t].second);
    out.push_back(ids);
  }
  return out;
}

TEST(Neighbours, TopkMatchesBruteForceWithTies) {
  // Integer-valued vectors with duplicated pool rows: many exact ties, broken by pool id.
  torch::manual_seed(31);
  auto pool = torch::randint(-2, 3, {40, 3}).to(torch::kFloat);
  pool.narrow(0, 20, 10).copy_(pool.narrow(0, 0, 10));
  auto queries = torch::randint(-2, 3, {6, 3}).to(torch::kFloat);
  std::vector<int64_t> ids(40);
  for (int64_t j = 0; j < 40; ++j) ids[j] = j;
  for (auto d : {Distance::kL2, Distance::kCosine}) {
    if (d == Distance::kCosine) pool.add_(0.5), queries.add_(0.5);  // no zero vectors
    auto got = merge_topk(local_topk(queries, pool, ids, 5, d), 6, 5);
    auto expected = brute(queries, pool, 5, d);
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(got[i], expected[i]) << "query " << i;
  }
}

TEST(Neighbours, ShardedMergeEqualsUnsharded) {
  torch::manual_seed(32);
  auto pool = torch::randint(-3, 4, {57, 4}).to(torch::kFloat);
  pool.narrow(0, 40, 17).copy_(pool.narrow(0, 3, 17));
  auto queries = torch::randn({9, 4});
  std::vector<int64_t> all_ids(57);
  for (int64_t j = 0; j < 57; ++j) all_ids[j] = j;
  auto whole = merge_topk(local_topk(queries, pool, all_ids, 4, Distance::kL2), 9, 4);
  for (int64_t shards : {2, 3, 5}) {
    std::vector<Candidate> cand;
    for (int64_t s = 0; s < shards; ++s) {
      const int64_t lo = 57 * s / shards, hi = 57 * (s + 1) / shards;
      std::vector<int64_t> ids(all_ids.begin() + lo, all_ids.begin() + hi);
      auto part = local_topk(queries, pool.narrow(0, lo, hi - lo), ids, 4, Distance::kL2);
      cand.insert(cand.end(), part.begin(), part.end());
    }
    std::reverse(cand.begin(), cand.end());  // arrival order must not matter
    EXPECT_EQ(merge_topk(cand, 9, 4), whole) << shards << " shards";
  }
}

TEST(Neighbours, KLargerThanPoolAndBadInput) {
  auto pool = torch::randn({2, 3});
  auto got = merge_topk(local_topk(torch::randn({1, 3}), pool, {7, 9}, 5, Distance::kL2), 1, 5);
  EXPECT_EQ(got[0].size(), 2u);
  EXPECT_THROW(local_topk(torch::randn({1, 4}), pool, {7, 9}, 1, Distance::kL2), Error);
  EXPECT_THROW(local_topk(torch::randn({1, 3}), pool, {7}, 1, Distance::kL2), Error);
  EXPECT_THROW(merge_topk({{3, 1, 0.0}}, 2, 1), Error);
  EXPECT_EQ(parse_distance("cosine"), Distance::kCosine);
  EXPECT_THROW(parse_distance("manhattan"), UsageError);
}

TEST(Neighbours, EmbeddingIsTheMeanHiddenStateOverTheSpan) {
  // The table model's hidden state is one_hot(token), so the embedding is a token histogram.
  testing::TableLM model(torch::zeros({6, 6}));
  std::vector<std::vector<int64_t>> seqs = {{1, 2, 3, 4}, {5}, {0, 0, 2}};
  auto e = embed_sequences(*model, seqs, 1, 3, 2, 0);
  ASSERT_EQ(e.sizes(), (torch::IntArrayRef{3, 6}));
  auto expected = torch::zeros({3, 6});
  expected[0][2] = 0.5, expected[0][3] = 0.5;  // tokens 1..2 of {1,2,3,4}
  expected[1][5] = 1.0;                        // span empty: the whole sequence
  expected[2][0] = 0.5, expected[2][2] = 0.5;  // tokens 1..2 of {0,0,2}
  EXPECT_TRUE(torch::allclose(e, expected)) << e;
}

}  // namespace
}  // namespace unl::unlearn
