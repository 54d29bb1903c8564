// Peak resident memory: touching 256 MiB raises the peak by about that much (the kernel's own
// count is the expectation), and a restart after freeing it brings the peak back down.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>

#include "common/memory.h"

namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

TEST(Memory, PeakFollowsTouchedPagesAndRestarts) {
  ASSERT_TRUE(unl::reset_peak_rss());
  const int64_t before = unl::peak_rss_bytes();
  ASSERT_GT(before, 0);
  EXPECT_GE(before, unl::current_rss_bytes() - 4 * kMiB);
  const size_t n = 256 * kMiB;
  // mmap, not malloc: the pages go back to the kernel on munmap, whatever the allocator does.
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, n);
  const int64_t peak = unl::peak_rss_bytes();
  EXPECT_GE(peak - before, 250 * kMiB);
  EXPECT_LE(peak - before, 300 * kMiB);
  munmap(p, n);
  ASSERT_TRUE(unl::reset_peak_rss());
  EXPECT_LT(unl::peak_rss_bytes(), peak - 200 * kMiB);
}

}  // namespace
