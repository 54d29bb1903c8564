// Flat layout arithmetic: offsets, rank slices, and the tensor pieces inside a flat range.
#include "shard/flat_layout.h"

#include <algorithm>

#include "common/error.h"

namespace unl::shard {

namespace {
int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }
}  // namespace

FlatLayout::FlatLayout(std::vector<int64_t> numels, int64_t alignment)
    : numels_(std::move(numels)), alignment_(alignment) {
  UNL_CHECK(alignment_ > 0, "flat layout alignment " + std::to_string(alignment_) + " is not positive",
            "this is a bug: use FlatLayout::kAlignment");
  offsets_.reserve(numels_.size());
  for (size_t i = 0; i < numels_.size(); ++i) {
    UNL_CHECK(numels_[i] >= 0, "tensor " + std::to_string(i) + " has a negative element count",
              "this is a bug in the caller");
    offsets_.push_back(size_);
    size_ += round_up(numels_[i], alignment_);
  }
}

int64_t FlatLayout::shard_size(int world) const {
  UNL_CHECK(world >= 1, "world size " + std::to_string(world) + " is not positive", "");
  return std::max(alignment_, round_up((size_ + world - 1) / world, alignment_));
}

std::pair<int64_t, int64_t> FlatLayout::shard_range(int world, int rank) const {
  UNL_CHECK(rank >= 0 && rank < world, "rank " + std::to_string(rank) + " outside a world of " + std::to_string(world),
            "");
  const int64_t s = shard_size(world);
  return {rank * s, (rank + 1) * s};
}

int FlatLayout::owner(int64_t element, int world) const {
  const int64_t s = shard_size(world);
  UNL_CHECK(element >= 0 && element < s * world,
            "flat element " + std::to_string(element) + " outside the padded space of " + std::to_string(s * world),
            "");
  return static_cast<int>(element / s);
}

std::vector<FlatLayout::Piece> FlatLayout::pieces(int64_t begin, int64_t end) const {
  std::vector<Piece> out;
  if (begin >= end) return out;
  // First tensor whose padded extent reaches past `begin`.
  auto it = std::upper_bound(offsets_.begin(), offsets_.end(), begin);
  size_t i = it == offsets_.begin() ? 0 : static_cast<size_t>(it - offsets_.begin() - 1);
  for (; i < numels_.size() && offsets_[i] < end; ++i) {
    const int64_t a = std::max(begin, offsets_[i]);
    const int64_t b = std::min(end, offsets_[i] + numels_[i]);
    if (a < b) out.push_back({static_cast<int64_t>(i), a - offsets_[i], a, b - a});
  }
  return out;
}

std::string FlatLayout::describe() const {
  std::string s = "align=" + std::to_string(alignment_) + ";numels=";
  for (size_t i = 0; i < numels_.size(); ++i) s += (i ? "," : "") + std::to_string(numels_[i]);
  return s;
}

}  // namespace unl::shard
