// FlatLayout against a brute-force model: every flat element is labelled (tensor, index) or
// padding by walking the tensors one element at a time, and every query is checked against it.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "common/error.h"
#include "shard/flat_layout.h"

namespace {

using unl::shard::FlatLayout;

struct Cell {
  int64_t tensor = -1;  // -1: padding
  int64_t index = 0;
};

// The flat space built element by element from the definition (each tensor starts at the next
// multiple of the alignment).
std::vector<Cell> brute_force(const std::vector<int64_t>& numels, int64_t align) {
  std::vector<Cell> cells;
  for (size_t t = 0; t < numels.size(); ++t) {
    while (cells.size() % static_cast<size_t>(align) != 0) cells.push_back({});
    for (int64_t i = 0; i < numels[t]; ++i) cells.push_back({static_cast<int64_t>(t), i});
  }
  while (cells.size() % static_cast<size_t>(align) != 0) cells.push_back({});
  return cells;
}

TEST(FlatLayout, OffsetsAreAlignedAndWorldIndependent) {
  const FlatLayout layout({100, 64, 1, 0, 130}, 64);
  EXPECT_EQ(layout.offset(0), 0);
  EXPECT_EQ(layout.offset(1), 128);
  EXPECT_EQ(layout.offset(2), 192);
  EXPECT_EQ(layout.offset(3), 256);
  EXPECT_EQ(layout.offset(4), 256);  // an empty tensor occupies nothing
  EXPECT_EQ(layout.size(), 256 + 192);
  EXPECT_EQ(layout.describe(), "align=64;numels=100,64,1,0,130");
}

TEST(FlatLayout, ShardsCoverThePaddedSpaceOnceAndAreAligned) {
  const FlatLayout layout({1000, 7, 333}, 64);
  for (int world = 1; world <= 9; ++world) {
    const int64_t s = layout.shard_size(world);
    EXPECT_EQ(s % 64, 0);
    EXPECT_GE(s * world, layout.size()) << world;
    EXPECT_LT(s * world - layout.size(), 64 * world) << world;  // no more padding than needed
    int64_t expect_begin = 0;
    for (int r = 0; r < world; ++r) {
      auto [b, e] = layout.shard_range(world, r);
      EXPECT_EQ(b, expect_begin);
      EXPECT_EQ(e - b, s);
      EXPECT_EQ(layout.owner(b, world), r);
      EXPECT_EQ(layout.owner(e - 1, world), r);
      expect_begin = e;
    }
  }
  EXPECT_THROW(layout.shard_range(2, 2), unl::Error);
  EXPECT_THROW(layout.owner(-1, 2), unl::Error);
  EXPECT_THROW(layout.shard_size(0), unl::Error);
}

TEST(FlatLayout, PiecesMatchBruteForceForRandomLayoutsAndRanges) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t align = std::vector<int64_t>{1, 4, 64}[trial % 3];
    std::vector<int64_t> numels(1 + rng() % 8);
    for (auto& n : numels) n = static_cast<int64_t>(rng() % 150);
    const FlatLayout layout(numels, align);
    const auto cells = brute_force(numels, align);
    ASSERT_EQ(layout.size(), static_cast<int64_t>(cells.size()));
    for (int64_t t = 0; t < layout.num_tensors(); ++t)
      if (numels[t] > 0) EXPECT_EQ(cells[layout.offset(t)].tensor, t);
    for (int q = 0; q < 20; ++q) {
      const int64_t padded = layout.size() + 10;
      int64_t a = static_cast<int64_t>(rng() % padded), b = static_cast<int64_t>(rng() % padded);
      if (a > b) std::swap(a, b);
      // Expected: the non-padding cells in [a, b), one per element.
      std::map<int64_t, Cell> expected;
      for (int64_t i = a; i < std::min<int64_t>(b, layout.size()); ++i)
        if (cells[i].tensor >= 0) expected[i] = cells[i];
      int64_t covered = 0, last_end = a;
      for (const auto& p : layout.pieces(a, b)) {
        EXPECT_GE(p.flat_offset, last_end);  // flat order, no overlap
        last_end = p.flat_offset + p.length;
        EXPECT_GT(p.length, 0);
        for (int64_t k = 0; k < p.length; ++k) {
          auto it = expected.find(p.flat_offset + k);
          ASSERT_NE(it, expected.end()) << "piece covers padding or out of range at " << p.flat_offset + k;
          EXPECT_EQ(it->second.tensor, p.tensor);
          EXPECT_EQ(it->second.index, p.tensor_offset + k);
        }
        covered += p.length;
      }
      EXPECT_EQ(covered, static_cast<int64_t>(expected.size())) << "range [" << a << ", " << b << ")";
    }
  }
}

}  // namespace
