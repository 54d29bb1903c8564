// The flat parameter layout behind ZeRO sharding: tensors in a fixed order, each starting at a
// multiple of a fixed alignment, concatenated into one flat index space that does not depend on
// the world size. Rank r of N owns the contiguous slice [r*S, (r+1)*S) with S = shard_size(N), so
// the owner of any element range is arithmetic on the layout alone (resharding on resume is a
// computation, not a search). Pure: no torch, no MPI.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace unl::shard {

class FlatLayout {
 public:
  /// 64 elements: 256 bytes of fp32, 128 of bf16; every tensor and every rank slice starts there.
  static constexpr int64_t kAlignment = 64;

  /// One entry per tensor: its element count (0 is allowed: it occupies no space).
  explicit FlatLayout(std::vector<int64_t> numels, int64_t alignment = kAlignment);

  int64_t num_tensors() const { return static_cast<int64_t>(numels_.size()); }
  int64_t numel(int64_t tensor) const { return numels_.at(static_cast<size_t>(tensor)); }
  /// Where tensor `i` starts in the flat space (a multiple of the alignment).
  int64_t offset(int64_t tensor) const { return offsets_.at(static_cast<size_t>(tensor)); }
  /// Elements of the flat space, padding included (a multiple of the alignment).
  int64_t size() const { return size_; }
  int64_t alignment() const { return alignment_; }

  /// Elements each of `world` ranks owns: ceil(size / world) rounded up to the alignment (>= the
  /// alignment, so no rank's slice is empty-sized). world * shard_size(world) >= size().
  int64_t shard_size(int world) const;
  /// Rank `rank`'s slice [begin, end) of the flat space padded to world * shard_size(world).
  std::pair<int64_t, int64_t> shard_range(int world, int rank) const;
  /// The rank that owns flat element `element` (0 <= element < world * shard_size(world)).
  int owner(int64_t element, int world) const;

  /// The part of one tensor inside a flat range: elements [tensor_offset, tensor_offset + length)
  /// of tensor `tensor` sit at flat positions [flat_offset, flat_offset + length).
  struct Piece {
    int64_t tensor = 0;
    int64_t tensor_offset = 0;
    int64_t flat_offset = 0;
    int64_t length = 0;
  };
  /// Every tensor's elements inside flat range [begin, end), in flat order (padding skipped).
  std::vector<Piece> pieces(int64_t begin, int64_t end) const;

  /// A stable description (alignment and element counts) for checkpoints: equal layouts give
  /// equal strings.
  std::string describe() const;

 private:
  std::vector<int64_t> numels_, offsets_;
  int64_t alignment_ = kAlignment;
  int64_t size_ = 0;
};

}  // namespace unl::shard
