// Neighbour phase: pair every forget sample with its nearest row of the retained pool (the pool
// sharded over ranks: each embeds its slice and keeps a local top-1, rank 0 merges), or take the
// pairs from a file.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/job.h"

namespace unl::driver {

/// Collective. The pool row paired with each forget sample (-1 for all when the method needs no
/// neighbours), the same on every rank: read from neighbours.index when set, else mined (rows
/// that are copies of a forget row, by content, are never paired).
std::vector<int64_t> mine_neighbours(Job& job);

/// The pool row of each forget sample from a pair file: JSONL {"forget": id, "neighbour": id} by
/// data ids, or a .npy of retain row numbers [n_forget, k] (column 0). Throws naming the line or
/// the sample that is unpaired, paired twice or out of range.
std::vector<int64_t> read_neighbour_index(const std::string& path, const TokenSet& forget, const TokenSet& pool);

}  // namespace unl::driver
