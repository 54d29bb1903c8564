// Collation (left / right padding), forget <-> neighbour pairing, the portable seeded
// permutation against golden values, split determinism and disjointness, and the data hash.
#include <gtest/gtest.h>

#include <set>

#include "data_test_util.h"

namespace {
using unl::data::Sample;

std::vector<Sample> numbered(int n) {
  std::vector<Sample> s;
  for (int i = 0; i < n; ++i) s.push_back({100 + i, {i, i + 1}, ""});
  return s;
}

TEST(Collate, RightAndLeftPaddingWithMasks) {
  const std::vector<std::vector<int64_t>> rows = {{1, 2, 3}, {4}};
  auto r = unl::data::collate(rows, 0, false);
  EXPECT_TRUE(torch::equal(r.ids, torch::tensor({1, 2, 3, 4, 0, 0}, torch::kInt64).view({2, 3})));
  EXPECT_TRUE(torch::equal(r.mask, torch::tensor({1, 1, 1, 1, 0, 0}, torch::kInt64).view({2, 3})));
  auto l = unl::data::collate(rows, 9, true, 4);
  EXPECT_TRUE(torch::equal(l.ids, torch::tensor({9, 1, 2, 3, 9, 9, 9, 4}, torch::kInt64).view({2, 4})));
  EXPECT_TRUE(torch::equal(l.mask, torch::tensor({0, 1, 1, 1, 0, 0, 0, 1}, torch::kInt64).view({2, 4})));
  EXPECT_EQ(l.ids.scalar_type(), torch::kInt64);
  // pad_to shorter than the longest row does not truncate; the pointer form agrees.
  const std::vector<const std::vector<int64_t>*> ptrs = {&rows[1], &rows[0]};
  auto p = unl::data::collate(ptrs, 7, false, 2);
  EXPECT_TRUE(torch::equal(p.ids, torch::tensor({4, 7, 7, 1, 2, 3}, torch::kInt64).view({2, 3})));
  auto e = unl::data::collate(std::vector<std::vector<int64_t>>{}, 0, false);
  EXPECT_EQ(e.ids.size(0), 0);
}

TEST(Pairs, ForgetWithNeighbourRowsAndErrors) {
  const auto forget = numbered(3);
  std::vector<Sample> pool = {{0, {9, 9}, ""}, {1, {8, 8}, ""}, {2, {1, 2}, ""}};
  auto pairs = unl::data::make_pairs(forget, {1, 0, -1}, pool);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].forget_id, 100);
  EXPECT_EQ(pairs[0].neighbour_row, 1);
  EXPECT_EQ(pairs[1].forget_index, 1);
  EXPECT_EQ(pairs[1].neighbour_row, 0);
  EXPECT_EQ(pairs[2].neighbour_row, -1);
  EXPECT_EQ(unl::data::make_pairs(forget, {}, pool)[1].neighbour_row, -1);
  EXPECT_THROW(unl::data::make_pairs(forget, {0, 1}, pool), unl::Error);
  EXPECT_THROW(unl::data::make_pairs(forget, {0, 3, 1}, pool), unl::Error);
  try {
    unl::data::make_pairs(forget, {0, 2, 0}, pool);  // forget id 101 = {1, 2} = pool row 2
    FAIL() << "a neighbour identical to its forget sample was accepted";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("forget sample id 101 is its own neighbour: pool row 2"), std::string::npos)
        << e.what();
  }
}

TEST(Split, PermutationMatchesGoldenSplitMix64) {
  // Golden values from an independent Python implementation of splitmix64 + Fisher-Yates.
  EXPECT_EQ(unl::data::seeded_permutation(8, 0), (std::vector<int64_t>{2, 5, 0, 3, 4, 6, 1, 7}));
  EXPECT_EQ(unl::data::seeded_permutation(8, 42), (std::vector<int64_t>{3, 1, 6, 2, 4, 0, 7, 5}));
  EXPECT_TRUE(unl::data::seeded_permutation(0, 1).empty());
}

TEST(Split, DeterministicDisjointAndComplete) {
  const auto s = numbered(20);
  auto a = unl::data::split_heldout(s, 5, 1), b = unl::data::split_heldout(s, 5, 1);
  ASSERT_EQ(a.second.size(), 5u);
  ASSERT_EQ(a.first.size(), 15u);
  std::set<int64_t> held, kept;
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a.second[i].id, b.second[i].id);
  for (auto& x : a.second) held.insert(x.id);
  for (auto& x : a.first) kept.insert(x.id);
  for (int64_t id : kept) EXPECT_FALSE(held.count(id)) << id;
  EXPECT_EQ(held.size() + kept.size(), 20u);
  // The first 5 entries of the seed-1 permutation of 20 are 1, 14, 10, 3, 19 (Python golden).
  EXPECT_EQ(held, (std::set<int64_t>{101, 114, 110, 103, 119}));
  // Input order is kept inside each part.
  for (size_t i = 1; i < a.first.size(); ++i) EXPECT_LT(a.first[i - 1].id, a.first[i].id);
  auto c = unl::data::split_heldout(s, 5, 2);
  std::set<int64_t> other;
  for (auto& x : c.second) other.insert(x.id);
  EXPECT_NE(held, other);
  EXPECT_EQ(unl::data::split_heldout_fraction(s, 0.25, 1).second.size(), 5u);
  EXPECT_EQ(unl::data::split_heldout_fraction(s, 0.0, 1).second.size(), 0u);
  EXPECT_THROW(unl::data::split_heldout(s, 21, 1), unl::Error);
  EXPECT_THROW(unl::data::split_heldout_fraction(s, 1.5, 1), unl::Error);
}

TEST(Hash, ChangesWithIdsTokensAndBoundaries) {
  std::vector<Sample> a = {{1, {1, 2}, ""}, {2, {3}, "x"}};
  std::vector<Sample> same = {{1, {1, 2}, "text is not hashed"}, {2, {3}, ""}};
  EXPECT_EQ(unl::data::dataset_hash(a), unl::data::dataset_hash(same));
  EXPECT_EQ(unl::data::dataset_hash(a).size(), 16u);
  auto b = a;
  b[1].tokens[0] = 4;
  EXPECT_NE(unl::data::dataset_hash(a), unl::data::dataset_hash(b));
  auto c = a;
  c[0].id = 5;
  EXPECT_NE(unl::data::dataset_hash(a), unl::data::dataset_hash(c));
  std::vector<Sample> moved = {{1, {1}, ""}, {2, {2, 3}, ""}};  // same flat tokens, other boundary
  EXPECT_NE(unl::data::dataset_hash(a), unl::data::dataset_hash(moved));
}

}  // namespace
