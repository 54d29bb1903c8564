// Pure partition math: which rank owns which forget pairs and which pool rows. No MPI, no torch,
// so it is trivially testable and identical on every rank.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace unl::shard {

/// A sample eligible for this epoch: its global id and its token count (the cost of its rows).
struct SampleRef {
  int64_t id = 0;
  int64_t tokens = 0;
};

/// The epoch's work: global batches in a seeded, world-size independent order, each split over
/// ranks. batches[b] is the same for any world size; assignment[b][r] is rank r's share.
struct ShardPlan {
  int world = 1;
  int64_t batch_size = 1;
  uint64_t seed = 0;
  int64_t epoch = 0;
  std::vector<std::vector<int64_t>> batches;                  // [batch] -> ids
  std::vector<std::vector<std::vector<int64_t>>> assignment;  // [batch][rank] -> ids

  int64_t num_batches() const { return static_cast<int64_t>(batches.size()); }
  /// Rank r's ids in batch b (possibly empty: the rank still joins the step's collectives).
  const std::vector<int64_t>& local(int64_t batch, int rank) const;
};

/// Deterministic 64-bit generator (splitmix64): identical on every platform and library, unlike
/// std::shuffle / std::uniform_int_distribution.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// Uniform in [0, bound) without modulo bias.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_;
};

/// The ids sorted, then Fisher-Yates shuffled by a generator seeded from (seed, epoch).
std::vector<int64_t> permute_ids(std::vector<int64_t> ids, uint64_t seed, int64_t epoch);

/// Plan an epoch: permute the active ids (world-independent), cut into global batches of
/// batch_size (the last may be short), and split each batch over `world` ranks so counts differ
/// by at most one and tokens are balanced (largest first onto the least loaded rank with room).
/// Every id appears exactly once. Throws unl::Error on world < 1, batch_size < 1, duplicate ids.
ShardPlan make_plan(const std::vector<SampleRef>& active, int world, int64_t batch_size,
                    uint64_t seed, int64_t epoch);

/// Contiguous block [begin, end) of n items owned by `rank` of `world` (sizes differ by <= 1,
/// lower ranks get the extra). Used to shard evaluation and the neighbour pool.
std::pair<int64_t, int64_t> block_range(int64_t n, int world, int rank);

}  // namespace unl::shard
