// Implementation of the epoch plan: seeded permutation, global batches, balanced rank split.
#include "shard/shard.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_map>

#include "common/error.h"

namespace unl::shard {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t bound) {
  if (bound <= 1) return 0;
  // Rejection sampling: discard the top partial range so every value is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do {
    x = next();
  } while (x >= limit);
  return x % bound;
}

std::vector<int64_t> permute_ids(std::vector<int64_t> ids, uint64_t seed, int64_t epoch) {
  std::sort(ids.begin(), ids.end());
  SplitMix64 rng(seed * 0x2545F4914F6CDD1DULL + static_cast<uint64_t>(epoch) + 1);
  for (size_t i = ids.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.below(i));
    std::swap(ids[i - 1], ids[j]);
  }
  return ids;
}

const std::vector<int64_t>& ShardPlan::local(int64_t batch, int rank) const {
  UNL_CHECK(batch >= 0 && batch < num_batches() && rank >= 0 && rank < world,
            "plan lookup out of range: batch " + std::to_string(batch) + " of " +
                std::to_string(num_batches()) + ", rank " + std::to_string(rank) + " of " +
                std::to_string(world),
            "this is a bug: the plan was built for a different world size");
  return assignment[batch][rank];
}

ShardPlan make_plan(const std::vector<SampleRef>& active, int world, int64_t batch_size,
                    uint64_t seed, int64_t epoch) {
  UNL_CHECK(world >= 1, "world size must be >= 1, got " + std::to_string(world), "");
  UNL_CHECK(batch_size >= 1, "batch_size must be >= 1, got " + std::to_string(batch_size),
            "set batch_size to a positive number of forget samples per global step");
  std::vector<int64_t> ids;
  ids.reserve(active.size());
  std::unordered_map<int64_t, int64_t> tokens;
  for (const auto& s : active) {
    UNL_CHECK(tokens.emplace(s.id, s.tokens).second,
              "sample id " + std::to_string(s.id) + " appears twice in the active set",
              "sample ids must be unique; check the forget set for duplicate ids");
    ids.push_back(s.id);
  }

  ShardPlan plan;
  plan.world = world;
  plan.batch_size = batch_size;
  plan.seed = seed;
  plan.epoch = epoch;
  const std::vector<int64_t> order = permute_ids(std::move(ids), seed, epoch);
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    plan.batches.emplace_back(order.begin() + begin, order.begin() + end);
  }

  plan.assignment.resize(plan.batches.size());
  for (size_t b = 0; b < plan.batches.size(); ++b) {
    const auto& batch = plan.batches[b];
    const int64_t n = static_cast<int64_t>(batch.size());
    // Capacity: counts differ by at most one, lower ranks take the extra rows.
    std::vector<int64_t> capacity(world, n / world);
    for (int64_t r = 0; r < n % world; ++r) capacity[r] += 1;
    // Largest first (ties: smaller id first) onto the least loaded rank with room.
    std::vector<int64_t> sorted = batch;
    std::stable_sort(sorted.begin(), sorted.end(), [&](int64_t a, int64_t c) {
      if (tokens[a] != tokens[c]) return tokens[a] > tokens[c];
      return a < c;
    });
    std::vector<int64_t> load(world, 0);
    auto& out = plan.assignment[b];
    out.assign(world, {});
    for (int64_t id : sorted) {
      int best = -1;
      for (int r = 0; r < world; ++r) {
        if (static_cast<int64_t>(out[r].size()) >= capacity[r]) continue;
        if (best < 0 || load[r] < load[best]) best = r;
      }
      out[best].push_back(id);
      load[best] += tokens[id];
    }
    // Within a rank keep the global batch order, so row order does not depend on the split.
    std::unordered_map<int64_t, size_t> position;
    for (size_t i = 0; i < batch.size(); ++i) position[batch[i]] = i;
    for (auto& ids_r : out)
      std::sort(ids_r.begin(), ids_r.end(),
                [&](int64_t a, int64_t c) { return position[a] < position[c]; });
  }
  return plan;
}

std::pair<int64_t, int64_t> block_range(int64_t n, int world, int rank) {
  UNL_CHECK(world >= 1 && rank >= 0 && rank < world,
            "rank " + std::to_string(rank) + " outside world of " + std::to_string(world), "");
  const int64_t base = n / world, extra = n % world;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace unl::shard
