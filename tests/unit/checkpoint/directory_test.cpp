// The checkpoints directory: retention, the `latest` pointer, skipping corrupt or partial files,
// ignoring and cleaning stale temp files, and a writer killed mid-write.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "common/error.h"
#include "tests/unit/checkpoint/test_util.h"

namespace unl::checkpoint {
namespace {

using testing::ScratchDir;

std::vector<std::int64_t> steps(const Directory& d) {
  std::vector<std::int64_t> out;
  for (const auto& [step, path] : d.list()) out.push_back(step);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CheckpointDirectory, FileNamesHaveTenDigitSteps) {
  EXPECT_EQ(Directory::file_name(42), "ckpt-0000000042.h5");
  EXPECT_EQ(Directory::file_name(0), "ckpt-0000000000.h5");
  EXPECT_THROW(Directory::file_name(-1), Error);
  EXPECT_THROW(Directory("x", 0), Error);
}

TEST(CheckpointDirectory, CommitKeepsLastNAndUpdatesLatest) {
  ScratchDir root;
  Directory d(root.file("checkpoints"), 2);
  EXPECT_FALSE(d.newest_valid().has_value());  // no directory yet
  for (std::int64_t step : {10, 20, 30, 40, 50}) {
    std::string p = d.commit(testing::small_state(step), step);
    EXPECT_EQ(p, root.file("checkpoints/" + Directory::file_name(step)));
    EXPECT_EQ(slurp(root.file("checkpoints/latest")), Directory::file_name(step) + "\n");
  }
  EXPECT_EQ(steps(d), (std::vector<std::int64_t>{40, 50}));
  EXPECT_EQ(names_in(d.dir()),
            (std::vector<std::string>{"ckpt-0000000040.h5", "ckpt-0000000050.h5", "latest"}));
  ASSERT_TRUE(d.newest_valid().has_value());
  EXPECT_EQ(*d.newest_valid(), root.file("checkpoints/ckpt-0000000050.h5"));
  auto loaded = d.load_newest_valid();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->second.ints.at("step"), 50);
  EXPECT_EQ(loaded->second.tensors.at("model/w")[0][0].item<float>(), 50.0f);
}

TEST(CheckpointDirectory, KeepLastOneKeepsOnlyTheNewFile) {
  ScratchDir root;
  Directory d(root.path(), 1);
  d.commit(testing::small_state(1), 1);
  d.commit(testing::small_state(2), 2);
  EXPECT_EQ(steps(d), (std::vector<std::int64_t>{2}));
}

TEST(CheckpointDirectory, NewestValidSkipsACorruptNewestFile) {
  ScratchDir root;
  Directory d(root.path(), 3);
  d.commit(testing::small_state(1), 1);
  std::string newest = d.commit(testing::small_state(2), 2);
  testing::flip_byte(newest, testing::dataset_offset(newest, "model/w") + 3);
  EXPECT_EQ(*d.newest_valid(), root.file("ckpt-0000000001.h5"));
  auto loaded = d.load_newest_valid();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->second.ints.at("step"), 1);
  // With every file corrupt there is nothing to resume from.
  std::string older = root.file("ckpt-0000000001.h5");
  std::filesystem::resize_file(older, std::filesystem::file_size(older) / 2);
  EXPECT_FALSE(d.newest_valid().has_value());
}

TEST(CheckpointDirectory, CrashMidWriteLeavesThePreviousCheckpoint) {
  ScratchDir root, elsewhere;
  Directory d(root.path(), 3);
  d.commit(testing::small_state(10), 10);
  // A writer killed mid-write leaves a partial temp file that was never renamed...
  std::string full = elsewhere.file("full.h5");
  write(full, testing::small_state(20));
  testing::copy_prefix(full, root.file("ckpt-0000000020.h5.tmp-424242"),
                       std::filesystem::file_size(full) / 2);
  EXPECT_EQ(*d.newest_valid(), root.file("ckpt-0000000010.h5"));
  // ...and even a partial file under a final name (a non-atomic copy) is skipped.
  testing::copy_prefix(full, root.file("ckpt-0000000030.h5"), std::filesystem::file_size(full) - 100);
  EXPECT_EQ(*d.newest_valid(), root.file("ckpt-0000000010.h5"));
  EXPECT_EQ(steps(d), (std::vector<std::int64_t>{10, 30}));
}

TEST(CheckpointDirectory, StaleTempFilesAreIgnoredThenCleaned) {
  ScratchDir root;
  Directory d(root.path(), 2);
  d.commit(testing::small_state(1), 1);
  std::ofstream(root.file("ckpt-0000000099.h5.tmp-1234")) << "garbage";
  std::ofstream(root.file("latest.tmp-1234")) << "ckpt-0000000099.h5\n";
  std::ofstream(root.file("notes.txt")) << "user file";
  EXPECT_EQ(steps(d), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(*d.newest_valid(), root.file("ckpt-0000000001.h5"));
  d.commit(testing::small_state(2), 2);
  EXPECT_EQ(names_in(root.path()), (std::vector<std::string>{"ckpt-0000000001.h5", "ckpt-0000000002.h5",
                                                             "latest", "notes.txt"}));
}

TEST(CheckpointDirectory, CommittingAnOlderStepDropsTheAbandonedNewerOnes) {
  // Resumed from step 10 (say 20 and 30 belonged to a run the user rolled back): after step 15
  // is committed, newest_valid must return it, not the abandoned 30.
  ScratchDir root;
  Directory d(root.path(), 3);
  for (std::int64_t step : {10, 20, 30}) d.commit(testing::small_state(step), step);
  d.commit(testing::small_state(15), 15);
  EXPECT_EQ(steps(d), (std::vector<std::int64_t>{10, 15}));
  EXPECT_EQ(*d.newest_valid(), root.file("ckpt-0000000015.h5"));
  EXPECT_EQ(slurp(root.file("latest")), "ckpt-0000000015.h5\n");
}

}  // namespace
}  // namespace unl::checkpoint
