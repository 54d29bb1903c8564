// Replays the HDF5 token file fuzz/h5_tokens_fuzz once crashed the process with: a 2 KB file
// whose 'tokens' dataset claims 8.8e12 x 4 int64 (281 TB) over 96 stored bytes. The reader sized
// its buffer from the claimed shape; it must now refuse the file, naming it, before allocating.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include "common/error.h"
#include "data/data.h"

namespace {

TEST(FuzzRegressions, HdfTokenDatasetClaimingTerabytesIsRefused) {
  const std::string seed = std::string(UNL_SOURCE_DIR) + "/fuzz/corpus/h5_tokens/regress-huge-claimed-shape";
  std::ifstream in(seed, std::ios::binary);
  ASSERT_TRUE(in.good()) << seed;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1u);
  // As the fuzz target: the first byte picks the options, the rest is the file.
  const auto mode = static_cast<unsigned char>(bytes[0]);
  unl::data::DataSpec spec;
  spec.path = ::testing::TempDir() + "unl-regress-" + std::to_string(::getpid()) + ".h5";
  spec.format = "h5";
  if (mode & 2) spec.col_begin = 1;
  if (mode & 4) spec.col_end = 3;
  if (mode & 8) spec.max_tokens = 4;
  if (mode & 16) spec.limit = 2;
  std::ofstream(spec.path, std::ios::binary).write(bytes.data() + 1, static_cast<std::streamsize>(bytes.size() - 1));
  std::string message;
  try {
    unl::data::load_samples(spec, {}, 50257);
  } catch (const unl::Error& e) {
    message = e.what();
  }
  std::remove(spec.path.c_str());
  ASSERT_FALSE(message.empty()) << "a 2 KB file claiming 281 TB of tokens was accepted";
  EXPECT_NE(message.find(spec.path), std::string::npos) << message;
  EXPECT_NE(message.find("8796093022462"), std::string::npos) << "the claimed row count is named: " << message;
}

}  // namespace
