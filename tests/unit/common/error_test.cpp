// unl::Error carries rank, file:line, the description and the hint in the documented format.
#include <gtest/gtest.h>

#include "common/common.h"

namespace {

TEST(Error, MessageHasRankLocationAndHint) {
  unl::set_current_rank(3);
  try {
    UNL_CHECK(1 + 1 == 3, "arithmetic is broken", "reinstall the universe");
    FAIL() << "UNL_CHECK did not throw";
  } catch (const unl::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("rank 3 (error_test.cpp:", 0), 0u) << what;
    EXPECT_NE(what.find("): arithmetic is broken. HINT: reinstall the universe"), std::string::npos)
        << what;
    EXPECT_EQ(e.description(), "arithmetic is broken");
    EXPECT_EQ(e.hint(), "reinstall the universe");
  }
  unl::set_current_rank(-1);
}

TEST(Error, CheckDoesNotEvaluateMessageOnSuccess) {
  int evaluated = 0;
  auto msg = [&] { ++evaluated; return std::string("x"); };
  UNL_CHECK(true, msg(), msg());
  EXPECT_EQ(evaluated, 0);
}

TEST(Error, UsageErrorIsAnError) {
  EXPECT_THROW(UNL_USAGE_ERROR("bad flag", "see --help"), unl::UsageError);
  EXPECT_THROW(UNL_USAGE_ERROR("bad flag", "see --help"), unl::Error);
}

TEST(Error, MpiCheckNamesTheCall) {
  try {
    const int fake_rc = 5;
    UNL_MPI_CHECK(fake_rc);
    FAIL();
  } catch (const unl::Error& e) {
    // MPI is not initialised in unit tests, so the code is reported by number.
    EXPECT_NE(std::string(e.what()).find("fake_rc failed: MPI error code 5"), std::string::npos)
        << e.what();
  }
}

TEST(Log, ParseLevelAcceptsKnownAndRejectsUnknown) {
  EXPECT_EQ(unl::log::parse_level("debug"), unl::log::Level::kDebug);
  EXPECT_EQ(unl::log::parse_level("warning"), unl::log::Level::kWarn);
  EXPECT_THROW(unl::log::parse_level("loud"), unl::UsageError);
}

TEST(Log, RankFilter) {
  unl::log::init(1, 4);
  unl::log::set_level(unl::log::Level::kInfo);
  unl::log::set_all_ranks(false);
  EXPECT_FALSE(unl::log::enabled(unl::log::Level::kInfo));  // rank 1 is quiet by default
  EXPECT_TRUE(unl::log::enabled(unl::log::Level::kWarn));   // but warnings always show
  unl::log::set_all_ranks(true);
  EXPECT_TRUE(unl::log::enabled(unl::log::Level::kInfo));
  EXPECT_FALSE(unl::log::enabled(unl::log::Level::kDebug));
  unl::log::init(0, 1);
  unl::log::set_all_ranks(false);
}

}  // namespace
