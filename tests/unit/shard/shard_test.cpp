// Properties of the epoch plan: exactly-once coverage, balance, determinism, world-size
// independence of the global batches, and the block split.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"
#include "shard/shard.h"

namespace {

using unl::shard::make_plan;
using unl::shard::SampleRef;

std::vector<SampleRef> samples(int64_t n, int64_t first_id = 100) {
  std::vector<SampleRef> s;
  for (int64_t i = 0; i < n; ++i) s.push_back({first_id + 7 * i, 50 + (i * 37) % 151});
  return s;
}

TEST(Shard, EveryIdExactlyOnceForManyShapes) {
  for (int64_t n : {0, 1, 2, 5, 16, 17, 33}) {
    for (int world : {1, 2, 3, 4, 8, 40}) {
      for (int64_t bs : {1, 3, 8, 64}) {
        auto plan = make_plan(samples(n), world, bs, 42, 3);
        std::multiset<int64_t> seen;
        for (int64_t b = 0; b < plan.num_batches(); ++b) {
          size_t in_batch = 0;
          for (int r = 0; r < world; ++r) {
            for (int64_t id : plan.local(b, r)) seen.insert(id);
            in_batch += plan.local(b, r).size();
          }
          EXPECT_EQ(in_batch, plan.batches[b].size());
          EXPECT_LE(plan.batches[b].size(), static_cast<size_t>(bs));
        }
        std::multiset<int64_t> expected;
        for (auto& s : samples(n)) expected.insert(s.id);
        EXPECT_EQ(seen, expected) << "n=" << n << " world=" << world << " bs=" << bs;
        EXPECT_EQ(plan.num_batches(), (n + bs - 1) / bs);
      }
    }
  }
}

TEST(Shard, CountsDifferByAtMostOneAndWorldLargerThanBatchLeavesRanksEmpty) {
  auto plan = make_plan(samples(10), 4, 7, 1, 0);
  for (int64_t b = 0; b < plan.num_batches(); ++b) {
    size_t lo = SIZE_MAX, hi = 0;
    for (int r = 0; r < 4; ++r) {
      lo = std::min(lo, plan.local(b, r).size());
      hi = std::max(hi, plan.local(b, r).size());
    }
    EXPECT_LE(hi - lo, 1u);
  }
  auto tiny = make_plan(samples(2), 5, 8, 1, 0);
  ASSERT_EQ(tiny.num_batches(), 1);
  int empty = 0;
  for (int r = 0; r < 5; ++r) empty += tiny.local(0, r).empty();
  EXPECT_EQ(empty, 3);
}

TEST(Shard, GlobalBatchesDoNotDependOnWorldSize) {
  auto a = make_plan(samples(29), 1, 4, 9, 2);
  for (int world : {2, 3, 4, 8}) {
    auto b = make_plan(samples(29), world, 4, 9, 2);
    EXPECT_EQ(a.batches, b.batches) << "world " << world;
  }
}

TEST(Shard, DeterministicPerSeedAndEpochButVaries) {
  auto a = make_plan(samples(40), 3, 8, 5, 1);
  auto b = make_plan(samples(40), 3, 8, 5, 1);
  EXPECT_EQ(a.assignment, b.assignment);
  EXPECT_NE(a.batches, make_plan(samples(40), 3, 8, 5, 2).batches);
  EXPECT_NE(a.batches, make_plan(samples(40), 3, 8, 6, 1).batches);
  // Input order does not matter: the ids are sorted before the shuffle.
  auto shuffled = samples(40);
  std::reverse(shuffled.begin(), shuffled.end());
  EXPECT_EQ(a.assignment, make_plan(shuffled, 3, 8, 5, 1).assignment);
}

TEST(Shard, TokensBalancedWhenCountsAllow) {
  // One global batch of 4 over 2 ranks: {100, 90, 10, 5} tokens -> {100, 5} and {90, 10}.
  std::vector<SampleRef> s = {{1, 100}, {2, 90}, {3, 10}, {4, 5}};
  auto plan = make_plan(s, 2, 4, 0, 0);
  std::map<int64_t, int64_t> tok = {{1, 100}, {2, 90}, {3, 10}, {4, 5}};
  int64_t l0 = 0, l1 = 0;
  for (auto id : plan.local(0, 0)) l0 += tok[id];
  for (auto id : plan.local(0, 1)) l1 += tok[id];
  EXPECT_EQ(std::max(l0, l1), 105);
  EXPECT_EQ(std::min(l0, l1), 100);
}

TEST(Shard, RejectsBadArguments) {
  EXPECT_THROW(make_plan(samples(3), 0, 4, 0, 0), unl::Error);
  EXPECT_THROW(make_plan(samples(3), 2, 0, 0, 0), unl::Error);
  std::vector<SampleRef> dup = {{1, 5}, {1, 6}};
  EXPECT_THROW(make_plan(dup, 2, 4, 0, 0), unl::Error);
  auto plan = make_plan(samples(3), 2, 4, 0, 0);
  EXPECT_THROW(plan.local(0, 2), unl::Error);
}

TEST(Shard, PermutationIsUniformEnough) {
  // Position of id 0 after shuffling 4 ids over many seeds: each slot ~1/4.
  std::vector<int> count(4, 0);
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    auto p = unl::shard::permute_ids({0, 1, 2, 3}, seed, 0);
    count[std::find(p.begin(), p.end(), 0) - p.begin()]++;
  }
  for (int c : count) EXPECT_NEAR(c, 1000, 120);
}

TEST(Shard, BlockRangeCoversExactly) {
  for (int64_t n : {0, 1, 7, 10, 100}) {
    for (int world : {1, 2, 3, 16}) {
      int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        auto [b, e] = unl::shard::block_range(n, world, r);
        EXPECT_EQ(b, next);
        EXPECT_LE(e - b, n / world + 1);
        EXPECT_GE(e - b, n / world);
        next = e;
      }
      EXPECT_EQ(next, n);
    }
  }
}

}  // namespace
