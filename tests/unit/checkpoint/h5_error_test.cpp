// HDF5 failures carry HDF5's own error stack in the unl::Error text (walked with H5Ewalk2), so
// a user learns why a call failed, not only which.
#include <gtest/gtest.h>

#include "common/h5_handle.h"
#include "tests/unit/checkpoint/test_util.h"

namespace {

TEST(H5Errors, TheMessageCarriesHdf5sErrorStack) {
  unl::checkpoint::testing::ScratchDir dir;
  unl::H5ErrorsMuted muted;
  const std::string path = dir.file("f.h5");
  unl::H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.valid());
  try {
    UNL_H5_CHECK(H5Dopen2(file.get(), "no/such/dataset", H5P_DEFAULT));
    FAIL() << "opening a missing dataset succeeded";
  } catch (const unl::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("H5Dopen2(file.get(), \"no/such/dataset\", H5P_DEFAULT) failed"), std::string::npos) << what;
    // HDF5's own words: the API function at the top of the stack and the reason below it.
    EXPECT_NE(what.find("HDF5 error stack: #0 H5Dopen2()"), std::string::npos) << what;
    EXPECT_NE(what.find("not found"), std::string::npos) << what;
  }
  // The stack is cleared once reported.
  EXPECT_EQ(unl::detail::h5_error_stack(), "");
}

TEST(H5Errors, AWriteToAReadOnlyFileSaysSo) {
  unl::checkpoint::testing::ScratchDir dir;
  unl::H5ErrorsMuted muted;
  const std::string path = dir.file("ro.h5");
  { unl::H5Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose); }
  unl::H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.valid());
  try {
    UNL_H5_CHECK(H5Gcreate2(file.get(), "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    FAIL() << "creating a group in a read-only file succeeded";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no write intent"), std::string::npos) << e.what();
  }
}

}  // namespace
