// Hashes are stable (known XXH3-64 vectors) and incremental hashing equals one-shot hashing.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/hash.h"
#include "common/error.h"

namespace {

TEST(Hash, KnownVectors) {
  // XXH3_64bits("") is 0x2D06800538D394C2 per the xxHash reference test vectors.
  EXPECT_EQ(unl::hash64("", 0), 0x2D06800538D394C2ULL);
  EXPECT_EQ(unl::hex64(0x2D06800538D394C2ULL), "2d06800538d394c2");
}

TEST(Hash, IncrementalEqualsOneShot) {
  const std::string text = "the quick brown fox jumps over the lazy dog, many times over";
  unl::Hasher h;
  h.update(text.substr(0, 7));
  h.update(text.substr(7));
  EXPECT_EQ(h.digest(), unl::hash64(text));
  EXPECT_NE(unl::hash64(text), unl::hash64(text + "."));
}

TEST(Hash, FileEqualsBytes) {
  const std::string path = testing::TempDir() + "/unl_hash_file.bin";
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
  EXPECT_EQ(unl::hash_file(path), unl::hash64(data));
  std::remove(path.c_str());
  EXPECT_THROW(unl::hash_file(path), unl::Error);
}

}  // namespace
