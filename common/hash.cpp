// XXH3-64 wrappers over libxxhash.
#include "common/hash.h"

#include <xxhash.h>

#include <cstdio>
#include <fmt/core.h>
#include <memory>
#include <vector>

#include "common/error.h"

namespace unl {

std::uint64_t hash64(const void* data, std::size_t size, std::uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

std::string hex64(std::uint64_t value) { return fmt::format("{:016x}", value); }

Hasher::Hasher() : state_(XXH3_createState()) {
  UNL_CHECK(state_ != nullptr, "out of memory creating a hash state", "");
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}
Hasher::~Hasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void Hasher::update(const void* data, std::size_t size) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, size);
}
std::uint64_t Hasher::digest() const {
  return XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_));
}

std::uint64_t hash_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  UNL_CHECK(f != nullptr, "cannot open '" + path + "' to hash it", "check the path and permissions");
  Hasher h;
  std::vector<char> buf(1 << 20);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), n);
  UNL_CHECK(!std::ferror(f.get()), "read error while hashing '" + path + "'", "check the disk");
  return h.digest();
}

}  // namespace unl
