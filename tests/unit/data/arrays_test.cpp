// .npy and HDF5 token arrays: files assembled byte by byte (npy) or through the raw HDF5 C API
// (independent of our writers), column ranges, row limits, and every rejected layout.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "data_test_util.h"

namespace {
using namespace unl_data_test;
using unl::data::DataSpec;

std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A .npy as numpy.save writes it: magic, version, header length, padded header dict, data.
std::string npy(int major, const std::string& dict, const std::string& data) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' + le(header.size(), major == 1 ? 2 : 4) +
         header + data;
}

std::string u16_2x3() {
  std::string d;
  for (uint16_t v : {1, 2, 50256, 4, 65535, 6}) d += le(v, 2);
  return npy(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }", d);
}

TEST(Npy, HandMadeUint16ColumnsAndRowLimit) {
  const auto p = tmp("t.npy");
  write_bytes(p, u16_2x3());
  auto rows = unl::data::read_npy_tokens(p);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<int64_t>{1, 2, 50256}));
  EXPECT_EQ(rows[1], (std::vector<int64_t>{4, 65535, 6}));
  EXPECT_EQ(unl::data::read_npy_tokens(p, 1).size(), 1u);
  DataSpec spec = spec_of(p);
  spec.col_begin = 1;
  auto s = unl::data::load_samples(spec, {}, 70000);
  EXPECT_EQ(s[1].id, 1);
  EXPECT_EQ(s[1].tokens, (std::vector<int64_t>{65535, 6}));
  spec.col_end = 2;  // a prefix / suffix split is a pair of column ranges
  EXPECT_NE(load_error(spec, 70000).find("t.npy row 0: only 1 token(s)"), std::string::npos);
  spec.col_begin = 0;
  EXPECT_EQ(unl::data::load_samples(spec, {}, 70000)[1].tokens, (std::vector<int64_t>{4, 65535}));
  spec.col_end = -1;
  EXPECT_NE(load_error(spec, 50257).find("t.npy row 1: token id 65535 at position 1 outside"), std::string::npos);
  spec.col_end = 9;
  EXPECT_NE(load_error(spec, 70000).find("t.npy: column range [0, 9) does not fit rows of 3 tokens"), std::string::npos);
  spec.col_begin = 2;
  spec.col_end = 1;
  EXPECT_NE(load_error(spec, 70000).find("column range [2, 1)"), std::string::npos);
  spec = spec_of(p);
  spec.limit = 1;
  EXPECT_EQ(unl::data::load_samples(spec, {}, 70000).size(), 1u);
}

TEST(Npy, Versions2And3SignedAndByteTypes) {
  const auto p = tmp("v.npy");
  write_bytes(p, npy(2, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3)}",
                     le(7, 4) + le(0xFFFFFFFFu, 4) + le(70000, 4)));
  EXPECT_EQ(unl::data::read_npy_tokens(p)[0], (std::vector<int64_t>{7, -1, 70000}));
  EXPECT_NE(load_error(spec_of(p), 100000).find("v.npy row 0: token id -1 at position 1"), std::string::npos);
  write_bytes(p, npy(3, "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2L, 2L), }", "\x01\x02\xff\x04"));
  EXPECT_EQ(unl::data::read_npy_tokens(p), (std::vector<std::vector<int64_t>>{{1, 2}, {255, 4}}));
  write_bytes(p, npy(1, "{'shape': (1, 2), 'fortran_order': False, 'descr': '<i8'}", le(5, 8) + le(uint64_t(-9), 8)));
  EXPECT_EQ(unl::data::read_npy_tokens(p)[0], (std::vector<int64_t>{5, -9}));
}

TEST(Npy, RejectsLiesAndUnsupportedLayoutsNamingTheFile) {
  const auto p = tmp("bad.npy");
  const std::string good = u16_2x3();
  auto error_for = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    return load_error(spec_of(p), 70000);
  };
  auto with = [&](const std::string& from, const std::string& to) {
    std::string b = good;
    b.replace(b.find(from), from.size(), to);
    return b;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good.substr(0, good.size() - 1), "needs 12 data bytes but the file holds 11"},
      {good + "xx", "needs 12 data bytes but the file holds 14"},
      {with("False", "True "), "Fortran-ordered"},
      {with("<u2", ">u2"), "dtype '>u2' is big-endian"},
      {with("<u2", "<f2"), "dtype '<f2' is not a supported token type"},
      {with("<u2", "<u8"), "dtype '<u8' is not a supported token type"},
      {with("(2, 3)", "(6,)  "), "a 1-D array"},
      {with("(2, 3)", "(1,2,3)"), "a 3-D array"},
      {with("'shape'", "'shapE'"), "malformed .npy header (unexpected or repeated key 'shapE'"},
      {with("'descr': '<u2', ", "'descr': '<u2', 'descr': '<u2' "), "malformed .npy header"},
      {with("(2, 3)", "[2, 3]"), "malformed .npy header (expected '('"},
      {with(", }", "} x"), "(bytes after the closing '}' at byte 58 of \"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)} x\")"},
      {with("False", "Nope "), "expected True or False"},
      {"PK\x03\x04 not numpy", "not a .npy file (bad magic)"},
      {std::string("\x93NUMPY\x04\x00\x10\x00", 10), "unsupported .npy format version 4.0"},
      {std::string("\x93NUMPY\x01\x00\xff\x7f{}", 12), "header length 32767 runs past the end"},
  };
  for (const auto& [bytes, expected] : cases) {
    const std::string err = error_for(bytes);
    EXPECT_NE(err.find("bad.npy"), std::string::npos) << err;
    EXPECT_NE(err.find(expected), std::string::npos) << "expected: " << expected << "\nerror: " << err;
    EXPECT_NE(err.find("HINT: "), std::string::npos) << err;
  }
}

// Shapes that claim more than the file holds fail before any buffer is sized from them.
TEST(NpyLimits, HugeClaimedShapesFailBeforeAllocating) {
  const auto p = tmp("huge.npy");
  auto header = [](const std::string& shape) {
    return "{'descr': '<u2', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  auto error_for = [&](const std::string& shape, const std::string& data) {
    write_bytes(p, npy(1, header(shape), data));
    return load_error(spec_of(p), 70000);
  };
  // A 1 KB file claiming 10^9 x 10^9 uint16: 2e18 bytes (no overflow) against the 1000 held.
  std::string err = error_for("(1000000000, 1000000000)", std::string(1000, 'x'));
  EXPECT_NE(err.find("huge.npy: shape (1000000000, 1000000000) of <u2 needs 2000000000000000000 data bytes but "
                     "the file holds 1000"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("HINT: "), std::string::npos) << err;
  // 2^62 x 4 x 2 bytes overflows int64: refused as such, not wrapped into a small size.
  err = error_for("(4611686018427387904, 4)", "");
  EXPECT_NE(err.find("huge.npy: shape (4611686018427387904, 4) overflows"), std::string::npos) << err;
  // Zero-width rows take no bytes, so the byte count cannot bound them: refused outright.
  err = error_for("(1000000000000000000, 0)", "");
  EXPECT_NE(err.find("huge.npy: shape (1000000000000000000, 0) claims rows of zero tokens"), std::string::npos)
      << err;
  // The empty array is still fine to read (load_samples then reports the empty set).
  write_bytes(p, npy(1, header("(0, 0)"), ""));
  EXPECT_TRUE(unl::data::read_npy_tokens(p).empty());
}

TEST(Npy, WriterRoundTripAndRangeChecks) {
  const std::vector<std::vector<int64_t>> rows = {{3, 1, 4, 1}, {5, 9, 2, 65535}};
  for (const char* dt : {"<u2", "<i4", "<i8", "uint16", "int64"}) {
    unl::data::write_npy(tmp("w.npy"), rows, dt);
    EXPECT_EQ(unl::data::read_npy_tokens(tmp("w.npy")), rows) << dt;
  }
  // The writer's bytes equal the hand-assembled file (same header padding as numpy).
  unl::data::write_npy(tmp("w.npy"), {{1, 2, 50256}, {4, 65535, 6}}, "<u2");
  std::ifstream in(tmp("w.npy"), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), u16_2x3());
  EXPECT_THROW(unl::data::write_npy(tmp("w.npy"), {{65536}}, "<u2"), unl::Error);
  EXPECT_THROW(unl::data::write_npy(tmp("w.npy"), {{-1}}, "<u2"), unl::Error);
  EXPECT_THROW(unl::data::write_npy(tmp("w.npy"), {{1, 2}, {3}}, "<i8"), unl::Error);
  EXPECT_THROW(unl::data::write_npy(tmp("w.npy"), {{1}}, "<f4"), unl::Error);
}

// The Training Data Extraction Challenge layout: uint16 [15000, 200], prefix = columns [0, 100)
// and suffix = [100, 200) of the same rows.
TEST(Npy, ExtractionChallengeShapePrefixSuffix) {
  std::vector<std::vector<int64_t>> rows(15000, std::vector<int64_t>(200));
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < 200; ++c) rows[r][c] = static_cast<int64_t>((r * 7919 + c * 104729) % 50257);
  const auto p = tmp("train_dataset.npy");
  unl::data::write_npy(p, rows, "uint16");
  DataSpec prefix = spec_of(p), suffix = spec_of(p);
  prefix.col_end = 100;
  suffix.col_begin = 100;
  const auto a = unl::data::load_samples(prefix, {}, 50257), b = unl::data::load_samples(suffix, {}, 50257);
  ASSERT_EQ(a.size(), 15000u);
  ASSERT_EQ(b.size(), 15000u);
  for (size_t r : {size_t{0}, size_t{1234}, size_t{14999}}) {
    auto joined = a[r].tokens;
    joined.insert(joined.end(), b[r].tokens.begin(), b[r].tokens.end());
    EXPECT_EQ(joined, rows[r]) << r;
    EXPECT_EQ(b[r].id, static_cast<int64_t>(r));
  }
}

// HDF5 files written with the raw C API, not write_h5_tokens.
void raw_h5(const std::string& path, hid_t file_type, hid_t mem_type, const void* data, int rank, const hsize_t* dims,
            const char* name = "tokens") {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t s = H5Screate_simple(rank, dims, nullptr);
  hid_t d = H5Dcreate2(f, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dclose(d);
  H5Sclose(s);
  H5Gclose(g);
  H5Fclose(f);
}

TEST(H5, RawUint16DatasetColumnsAndRowLimit) {
  const auto p = tmp("raw.h5");
  const uint16_t v[3][4] = {{10, 11, 12, 13}, {20, 21, 22, 23}, {30, 31, 65535, 33}};
  const hsize_t dims[2] = {3, 4};
  raw_h5(p, H5T_STD_U16BE, H5T_NATIVE_UINT16, v, 2, dims);  // big-endian on disk: HDF5 converts
  EXPECT_EQ(unl::data::read_h5_tokens(p, "tokens"),
            (std::vector<std::vector<int64_t>>{{10, 11, 12, 13}, {20, 21, 22, 23}, {30, 31, 65535, 33}}));
  EXPECT_EQ(unl::data::read_h5_tokens(p, "tokens", 2).size(), 2u);
  DataSpec spec = spec_of(p);
  spec.col_begin = 1;
  spec.col_end = 3;
  spec.limit = 2;
  auto s = unl::data::load_samples(spec, {}, 100);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].tokens, (std::vector<int64_t>{21, 22}));
  spec.limit = -1;
  EXPECT_NE(load_error(spec, 100).find("raw.h5 row 2: token id 65535 at position 1 outside"), std::string::npos);
}

TEST(H5, RejectsWrongDatasetsNamingTheFile) {
  const auto p = tmp("bad.h5");
  const float f[2][2] = {{1, 2}, {3, 4}};
  const hsize_t d2[2] = {2, 2}, d1[1] = {4};
  raw_h5(p, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, f, 2, d2);
  EXPECT_NE(load_error(spec_of(p)).find("bad.h5:/tokens: a floating-point dataset, not integers"), std::string::npos);
  const int64_t ints[4] = {1, 2, 3, 4};
  raw_h5(p, H5T_STD_I64LE, H5T_NATIVE_INT64, ints, 1, d1);
  EXPECT_NE(load_error(spec_of(p)).find("bad.h5:/tokens: a 1-D dataset"), std::string::npos);
  raw_h5(p, H5T_STD_U64LE, H5T_NATIVE_INT64, ints, 2, d2);
  EXPECT_NE(load_error(spec_of(p)).find("8-byte unsigned integers"), std::string::npos);
  DataSpec spec = spec_of(p);
  spec.h5_dataset = "nope";
  EXPECT_NE(load_error(spec).find("bad.h5: no dataset 'nope'"), std::string::npos);
  spec.h5_dataset = "no/such/path";
  EXPECT_NE(load_error(spec).find("bad.h5: no dataset 'no/such/path'"), std::string::npos);
  spec.h5_dataset = "group";
  EXPECT_NE(load_error(spec).find("bad.h5:/group is a group"), std::string::npos);
  write_bytes(p, "not hdf5 at all");
  EXPECT_NE(load_error(spec_of(p)).find("bad.h5' is missing or not an HDF5 file"), std::string::npos);
}

// A dataset of `dims` int64 with `layout`, nothing written unless `data` is given; chunked
// datasets get rows of 1024 and, when `deflate`, gzip level 9.
void claimed_h5(const std::string& path, const hsize_t* dims, H5D_layout_t layout, const int64_t* data = nullptr,
                bool deflate = false) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t s = H5Screate_simple(2, dims, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (layout == H5D_CHUNKED) {
    const hsize_t chunk[2] = {std::min<hsize_t>(dims[0], 1024), dims[1]};
    H5Pset_chunk(dcpl, 2, chunk);
    if (deflate) H5Pset_deflate(dcpl, 9);
  }
  hid_t d = H5Dcreate2(f, "tokens", H5T_STD_I64LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (data) H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Pclose(dcpl);
  H5Dclose(d);
  H5Sclose(s);
  H5Fclose(f);
}

// A shape is only a claim: unwritten chunks and unallocated contiguous data read as fill values,
// so a 2 KB file could otherwise make read_h5_tokens allocate 8 TB.
TEST(H5Limits, ClaimedShapesBeyondTheStoredBytesFailBeforeAllocating) {
  const auto p = tmp("claim.h5");
  const hsize_t huge[2] = {1000000000000ull, 1};
  claimed_h5(p, huge, H5D_CHUNKED);
  EXPECT_LT(std::filesystem::file_size(p), 100000u);
  std::string err = load_error(spec_of(p));
  EXPECT_NE(err.find("claim.h5:/tokens: chunked dataset of shape (1000000000000, 1) claims 8000000000000 bytes to "
                     "read but stores only 0 (limit: 1100 x the stored bytes)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("HINT: "), std::string::npos) << err;
  // The row limit is what is read, so the first rows of the same file are checked the same way.
  DataSpec spec = spec_of(p);
  spec.limit = 1000000;
  EXPECT_NE(load_error(spec).find("claims 8000000 bytes to read but stores only 0"), std::string::npos);

  claimed_h5(p, huge, H5D_CONTIGUOUS);
  err = load_error(spec_of(p));
  EXPECT_NE(err.find("claim.h5:/tokens: shape (1000000000000, 1) of 8-byte integers needs 8000000000000 bytes but "
                     "the file stores 0"),
            std::string::npos)
      << err;
  const hsize_t flat[2] = {1000000000000000000ull, 0};
  claimed_h5(p, flat, H5D_CONTIGUOUS);
  EXPECT_NE(load_error(spec_of(p)).find("shape (1000000000000000000, 0) claims rows of zero tokens"),
            std::string::npos);
  // One 2 GiB chunk: HDF5 would inflate all of it to read a single row.
  const hsize_t big_chunk[2] = {1ull << 17, 1ull << 11};
  {
    hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate_simple(2, big_chunk, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, big_chunk);
    hid_t d = H5Dcreate2(f, "tokens", H5T_STD_I64LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(s);
    H5Fclose(f);
  }
  spec.limit = 1;
  err = load_error(spec);
  EXPECT_NE(err.find("claim.h5:/tokens: chunks of (131072, 2048) x 8 bytes exceed the limit of 1073741824 bytes per "
                     "chunk"),
            std::string::npos)
      << err;
  const hsize_t wide[2] = {1ull << 40, 1ull << 40};
  claimed_h5(p, wide, H5D_CONTIGUOUS);
  EXPECT_NE(load_error(spec_of(p)).find("shape (1099511627776, 1099511627776) x 8-byte items overflows"),
            std::string::npos);
}

// Real chunked and compressed datasets (what h5py writes with chunks=True / compression="gzip")
// still load: the expansion limit only catches shapes no stored data backs.
TEST(H5Limits, RealChunkedAndCompressedDatasetsLoad) {
  const auto p = tmp("chunked.h5");
  const hsize_t dims[2] = {3000, 5};
  std::vector<int64_t> data(3000 * 5);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int64_t>((i * 7919) % 50257);
  std::vector<std::vector<int64_t>> want(3000);
  for (size_t r = 0; r < 3000; ++r) want[r].assign(data.begin() + r * 5, data.begin() + (r + 1) * 5);
  claimed_h5(p, dims, H5D_CHUNKED, data.data());
  EXPECT_EQ(unl::data::read_h5_tokens(p, "tokens"), want);
  if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    claimed_h5(p, dims, H5D_CHUNKED, data.data(), /*deflate=*/true);
    EXPECT_EQ(unl::data::read_h5_tokens(p, "tokens"), want);
    // All zeros compress about 1000:1 with deflate, still within the limit.
    std::vector<int64_t> zeros(3000 * 5, 0);
    claimed_h5(p, dims, H5D_CHUNKED, zeros.data(), /*deflate=*/true);
    EXPECT_EQ(unl::data::read_h5_tokens(p, "tokens", 2), (std::vector<std::vector<int64_t>>(2, std::vector<int64_t>(5, 0))));
  }
}

TEST(H5, WriterRoundTrip) {
  const std::vector<std::vector<int64_t>> rows = {{3, 1, 4, 1}, {5, 9, 2, -6}};
  unl::data::write_h5_tokens(tmp("w.h5"), "tokens", rows);
  EXPECT_EQ(unl::data::read_h5_tokens(tmp("w.h5"), "tokens"), rows);
  EXPECT_THROW(unl::data::write_h5_tokens(tmp("w.h5"), "tokens", {{1, 2}, {3}}), unl::Error);
}

}  // namespace
