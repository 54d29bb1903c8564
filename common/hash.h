// Content hashes (XXH3-64) for checkpoints, configs, data and models: hex strings a report can
// record so a run can be audited and reproduced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace unl {

/// XXH3-64 of a byte range.
std::uint64_t hash64(const void* data, std::size_t size, std::uint64_t seed = 0);
inline std::uint64_t hash64(std::string_view s) { return hash64(s.data(), s.size()); }
/// XXH3-64 of a whole file, streamed; throws unl::Error when it cannot be read.
std::uint64_t hash_file(const std::string& path);
/// 16 lowercase hex digits.
std::string hex64(std::uint64_t value);

/// Incremental XXH3-64 over several pieces.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::uint64_t digest() const;

 private:
  void* state_;
};

}  // namespace unl
