// Neighbour mining phase: pair every forget sample with its nearest row of the retained pool,
// the pool sharded over ranks (each embeds its slice and keeps a local top-1, rank 0 merges).
#pragma once

#include <cstdint>
#include <vector>

#include "driver/job.h"

namespace unl::driver {

/// Collective. The pool row paired with each forget sample (-1 for all when the method needs no
/// neighbours), the same on every rank.
std::vector<int64_t> mine_neighbours(Job& job);

}  // namespace unl::driver
