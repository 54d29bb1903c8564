// Checkpoint files: round trip of every field type, the on-disk layout other tools rely on, and
// one test per corruption (truncation, flipped data byte, deleted dataset, tampered metadata,
// wrong version), each expecting an error that names the damage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <limits>

#include "checkpoint/checkpoint.h"
#include "checkpoint/h5_util.h"
#include "common/error.h"
#include "common/hash.h"
#include "tests/unit/checkpoint/test_util.h"

namespace unl::checkpoint {
namespace {

using testing::ScratchDir;

/// Message of the unl::Error `f` throws; fails the test if it throws nothing.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no unl::Error thrown";
  return "";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A 16-bit float tensor from hand-picked bit patterns.
torch::Tensor from_bits(std::vector<std::uint16_t> bits, torch::ScalarType type) {
  return torch::from_blob(bits.data(), {static_cast<std::int64_t>(bits.size())}, torch::kInt16)
      .clone()
      .view(type);
}

State every_type_state() {
  State s;
  s.tensors["model/transformer.wte.weight"] = torch::arange(12, torch::kFloat32).reshape({3, 4}) / 7;
  s.tensors["f64"] = torch::tensor({1.0 / 3, -2.5e300}, torch::kFloat64);
  // bf16 bit patterns chosen by hand: 1.0, -2.0, +inf, smallest subnormal.
  s.tensors["bf16"] = from_bits({0x3F80, 0xC000, 0x7F80, 0x0001}, torch::kBFloat16);
  s.tensors["f16"] = from_bits({0x3C00, 0xFBFF}, torch::kFloat16);
  s.tensors["i64"] = torch::tensor({std::numeric_limits<std::int64_t>::min(), std::int64_t{42}}, torch::kInt64);
  s.tensors["i32"] = torch::tensor({-7, 7}, torch::kInt32);
  s.tensors["i16"] = torch::tensor({-300}, torch::kInt16);
  s.tensors["i8"] = torch::tensor({-128, 127}, torch::kInt8);
  s.tensors["samples/flags"] = torch::tensor({0, 255, 3}, torch::kUInt8);
  s.tensors["samples/mask"] = torch::tensor({true, false, true});
  s.tensors["scalar"] = torch::tensor(3.25);                      // 0-d
  s.tensors["empty"] = torch::empty({0, 5}, torch::kFloat32);      // no elements, shape kept
  s.tensors["optim/exp_avg/transformer.h.0.attn.k_proj.weight"] =
      torch::arange(6, torch::kFloat32).reshape({2, 3}).t();       // non-contiguous
  s.strings["config_toml"] = "[train]\nlr = 5e-5\n";
  s.strings["rng/torch"] = std::string("\0\x01\xff\0tail", 8);      // binary, NULs inside
  s.strings["empty"] = "";
  s.ints["epoch"] = 3;
  s.ints["step"] = std::numeric_limits<std::int64_t>::max();
  s.ints["batch_in_epoch"] = -1;
  return s;
}

TEST(CheckpointFile, RoundTripsEveryFieldType) {
  ScratchDir dir;
  State in = every_type_state();
  write(dir.file("a.h5"), in);
  State out = read(dir.file("a.h5"));
  ASSERT_EQ(out.tensors.size(), in.tensors.size());
  for (const auto& [name, t] : in.tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(out.tensors.count(name));
    const torch::Tensor& r = out.tensors.at(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type());
    EXPECT_EQ(r.sizes(), t.sizes());
    EXPECT_EQ(r.dim(), t.dim());
    // Compare raw bytes: exact, and meaningful for bf16/NaN/inf too.
    torch::Tensor a = t.contiguous(), b = r.contiguous();
    ASSERT_EQ(a.numel() * a.element_size(), b.numel() * b.element_size());
    if (a.numel() > 0) {
      EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()), 0);
    }
  }
  EXPECT_EQ(out.tensors.at("scalar").dim(), 0);
  EXPECT_FLOAT_EQ(out.tensors.at("scalar").item<double>(), 3.25);
  EXPECT_EQ(out.tensors.at("bf16")[0].item<float>(), 1.0f);
  EXPECT_EQ(out.tensors.at("bf16")[1].item<float>(), -2.0f);
  // The transposed input [[0,3],[1,4],[2,5]] comes back as that matrix, now contiguous.
  EXPECT_TRUE(torch::equal(out.tensors.at("optim/exp_avg/transformer.h.0.attn.k_proj.weight"),
                           torch::tensor({0.f, 3.f, 1.f, 4.f, 2.f, 5.f}).reshape({3, 2})));
  EXPECT_EQ(out.strings, in.strings);
  EXPECT_EQ(out.strings.at("rng/torch").size(), 8u);
  EXPECT_EQ(out.ints, in.ints);
}

TEST(CheckpointFile, RoundTripsSeveralMegabytes) {
  ScratchDir dir;
  State in;
  torch::manual_seed(7);
  in.tensors["big"] = torch::randn({1024, 1024});  // 4 MB
  in.tensors["big_bf16"] = torch::randn({512, 1024}).to(torch::kBFloat16);
  write(dir.file("big.h5"), in);
  State out = read(dir.file("big.h5"));
  EXPECT_TRUE(torch::equal(out.tensors.at("big"), in.tensors.at("big")));
  EXPECT_TRUE(torch::equal(out.tensors.at("big_bf16"), in.tensors.at("big_bf16")));
  // Large tensors are hashed on a helper thread: a flipped byte near the end is still caught.
  testing::flip_byte(dir.file("big.h5"), testing::dataset_offset(dir.file("big.h5"), "big") + 4194000);
  std::string msg = error_of([&] { read(dir.file("big.h5")); });
  EXPECT_TRUE(has(msg, "dataset 'big' checksum mismatch")) << msg;
}

TEST(CheckpointFile, RoundTripsAnEmptyState) {
  ScratchDir dir;
  write(dir.file("e.h5"), State{});
  State out = read(dir.file("e.h5"));
  EXPECT_TRUE(out.tensors.empty());
  EXPECT_TRUE(out.strings.empty());
  EXPECT_TRUE(out.ints.empty());
  EXPECT_TRUE(inspect(dir.file("e.h5")).ok());
}

TEST(CheckpointFile, LayoutIsPlainHdf5) {
  // What docs/checkpoint-format.md promises h5py/h5dump users, checked with the raw C API.
  ScratchDir dir;
  State in = every_type_state();
  write(dir.file("a.h5"), in);
  hid_t f = H5Fopen(dir.file("a.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::int64_t version = 0;
  hid_t va = H5Aopen(f, "unlearn_format_version", H5P_DEFAULT);
  ASSERT_GE(H5Aread(va, H5T_NATIVE_INT64, &version), 0);
  H5Aclose(va);
  EXPECT_EQ(version, 1);
  // Nested groups follow the '/' in the name; the '.' stays in the dataset name.
  hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
  ASSERT_GE(g, 0);
  hid_t d = H5Dopen2(g, "transformer.wte.weight", H5P_DEFAULT);
  ASSERT_GE(d, 0);
  hid_t t = H5Dget_type(d);
  EXPECT_GT(H5Tequal(t, H5T_NATIVE_FLOAT), 0);
  H5Tclose(t);
  float data[12];
  ASSERT_GE(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  EXPECT_FLOAT_EQ(data[11], 11.0f / 7);
  // The checksum attribute is XXH3-64 of the raw bytes.
  hid_t ca = H5Aopen(d, "xxh3_64", H5P_DEFAULT);
  hid_t ct = H5Aget_type(ca);
  std::string sum(H5Tget_size(ct), '\0');
  ASSERT_GE(H5Aread(ca, ct, sum.data()), 0);
  EXPECT_EQ(sum, hex64(hash64(data, sizeof data)));
  H5Tclose(ct);
  H5Aclose(ca);
  H5Dclose(d);
  H5Gclose(g);
  // bf16 is stored as 2-byte unsigned integers with dtype="bfloat16".
  d = H5Dopen2(f, "bf16", H5P_DEFAULT);
  t = H5Dget_type(d);
  EXPECT_GT(H5Tequal(t, H5T_NATIVE_UINT16), 0);
  H5Tclose(t);
  hid_t da = H5Aopen(d, "dtype", H5P_DEFAULT);
  hid_t dt = H5Aget_type(da);
  std::string dtype(H5Tget_size(dt), '\0');
  H5Aread(da, dt, dtype.data());
  EXPECT_EQ(dtype, "bfloat16");
  H5Tclose(dt);
  H5Aclose(da);
  H5Dclose(d);
  // 0-d is a scalar dataspace; the empty tensor keeps its [0, 5] shape.
  d = H5Dopen2(f, "scalar", H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  EXPECT_EQ(H5Sget_simple_extent_type(sp), H5S_SCALAR);
  H5Sclose(sp);
  H5Dclose(d);
  d = H5Dopen2(f, "empty", H5P_DEFAULT);
  sp = H5Dget_space(d);
  hsize_t dims[2] = {9, 9};
  EXPECT_EQ(H5Sget_simple_extent_dims(sp, dims, nullptr), 2);
  EXPECT_EQ(dims[0], 0u);
  EXPECT_EQ(dims[1], 5u);
  H5Sclose(sp);
  H5Dclose(d);
  // Ints are attributes of /meta/ints.
  hid_t ints = H5Gopen2(f, "meta/ints", H5P_DEFAULT);
  std::int64_t epoch = 0;
  hid_t ea = H5Aopen(ints, "epoch", H5P_DEFAULT);
  H5Aread(ea, H5T_NATIVE_INT64, &epoch);
  EXPECT_EQ(epoch, 3);
  H5Aclose(ea);
  H5Gclose(ints);
  H5Fclose(f);
}

TEST(CheckpointFile, MissingFileIsAClearError) {
  ScratchDir dir;
  std::string msg = error_of([&] { read(dir.file("nope.h5")); });
  EXPECT_TRUE(has(msg, "nope.h5' does not exist")) << msg;
}

TEST(CheckpointFile, TruncatedFileIsCorrupt) {
  ScratchDir dir;
  for (std::uint64_t cut : {std::uint64_t{1}, std::uint64_t{0}}) {
    std::string p = dir.file("t" + std::to_string(cut) + ".h5");
    write(p, testing::small_state(1));
    auto size = std::filesystem::file_size(p);
    // cut = 1: the last byte missing; cut = 0: half the file missing.
    ASSERT_EQ(::truncate(p.c_str(), static_cast<off_t>(cut == 1 ? size - 1 : size / 2)), 0);
    std::string msg = error_of([&] { read(p); });
    EXPECT_TRUE(has(msg, "is corrupt: HDF5 cannot open it")) << msg;
    EXPECT_TRUE(has(msg, "HINT: delete this file")) << msg;
  }
}

TEST(CheckpointFile, FlippedDataByteNamesTheDataset) {
  ScratchDir dir;
  std::string p = dir.file("f.h5");
  write(p, testing::small_state(1));
  testing::flip_byte(p, testing::dataset_offset(p, "model/b") + 517);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "is corrupt: dataset 'model/b' checksum mismatch")) << msg;
  msg = error_of([&] { verify(p); });
  EXPECT_TRUE(has(msg, "dataset 'model/b' checksum mismatch")) << msg;
  // inspect lists the damage instead of stopping: model/b bad, model/w fine.
  Summary s = inspect(p);
  EXPECT_FALSE(s.ok());
  ASSERT_EQ(s.problems.size(), 1u);
  ASSERT_EQ(s.tensors.size(), 2u);
  EXPECT_EQ(s.tensors[0].name, "model/b");
  EXPECT_FALSE(s.tensors[0].ok);
  EXPECT_TRUE(s.tensors[1].ok);
  EXPECT_TRUE(s.meta_ok);
  EXPECT_TRUE(has(format_summary(s), "CORRUPT, 1 problem(s)"));
}

TEST(CheckpointFile, DeletedDatasetIsNamedAndListTamperingIsCaught) {
  ScratchDir dir;
  std::string p = dir.file("d.h5");
  write(p, testing::small_state(1));
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(H5Ldelete(f, "model/b", H5P_DEFAULT), 0);
  H5Fclose(f);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "dataset 'model/b' is missing")) << msg;

  // Hide the deletion by rewriting the tensor list too: the metadata checksum still catches it.
  f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(H5Ldelete(f, "meta/tensors", H5P_DEFAULT), 0);
  std::string list = "model/w\n";
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, list.size());
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(f, "meta/tensors", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, list.data());
  hid_t as = H5Screate(H5S_SCALAR);
  std::int64_t len = static_cast<std::int64_t>(list.size());
  hid_t a = H5Acreate2(d, "length", H5T_STD_I64LE, as, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, &len);
  H5Aclose(a);
  H5Sclose(as);
  H5Dclose(d);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(f);
  msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "metadata checksum mismatch")) << msg;
}

/// Replace tensor dataset `name` of checkpoint `p` by a float32 one of `dims` (dtype and checksum
/// attributes kept) that is never written, with `layout`: a shape the file does not back.
void replace_with_claim(const std::string& p, const std::string& name, std::vector<hsize_t> dims,
                        H5D_layout_t layout) {
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::string checksum;
  {
    H5Handle old(h5::open_dataset(f, name));
    checksum = h5::read_attr_string(old.get(), "xxh3_64");
  }
  ASSERT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (layout == H5D_CHUNKED) {
    std::vector<hsize_t> chunk(dims.size(), 1);
    chunk[0] = 1 << 16;
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  }
  hid_t d = H5Dcreate2(f, name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  h5::write_attr_string(d, "dtype", "float32");
  h5::write_attr_string(d, "xxh3_64", checksum);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(f);
}

// Dataset shapes are the file's claims: a tensor is allocated only after its shape x element
// size is found stored in the file, so a 30 KB checkpoint cannot make read() allocate 4 TB.
TEST(CheckpointLimits, ClaimedShapesTheFileDoesNotStoreAreCorrupt) {
  ScratchDir dir;
  std::string p = dir.file("claim.h5");
  write(p, testing::small_state(1));
  replace_with_claim(p, "model/b", {1000000000000ull}, H5D_CONTIGUOUS);
  const auto size = std::filesystem::file_size(p);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "checkpoint '" + p + "' is corrupt: dataset 'model/b' has shape [1000000000000] of float32 "
                       "(4000000000000 bytes) but stores 0 bytes in the " + std::to_string(size) + "-byte file"))
      << msg;
  EXPECT_TRUE(has(msg, "HINT: ")) << msg;
  // inspect lists the problem and carries on with the other tensors.
  Summary s = inspect(p);
  ASSERT_EQ(s.problems.size(), 2u);  // the claim, and the metadata checksum (shape changed)
  EXPECT_TRUE(has(s.problems[0], "'model/b' has shape [1000000000000]")) << s.problems[0];

  write(p, testing::small_state(1));
  replace_with_claim(p, "model/w", {1000000000000ull, 3}, H5D_CHUNKED);
  msg = error_of([&] { verify(p); });
  EXPECT_TRUE(has(msg, "dataset 'model/w' is chunked; checkpoints store tensors as contiguous datasets")) << msg;

  write(p, testing::small_state(1));
  replace_with_claim(p, "model/w", {1ull << 62, 1ull << 62}, H5D_CONTIGUOUS);
  msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "dataset 'model/w' has shape [4611686018427387904, 4611686018427387904], whose byte size "
                       "overflows"))
      << msg;
}

// A fixed-length string's type size is a claim too: a 2 GB string type with nothing stored is
// refused before the buffer is allocated.
TEST(CheckpointLimits, ClaimedStringSizeTheFileDoesNotStoreIsCorrupt) {
  ScratchDir dir;
  std::string p = dir.file("str.h5");
  write(p, testing::small_state(1));
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(H5Ldelete(f, "meta/strings/config_hash", H5P_DEFAULT), 0);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::size_t{1} << 31);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(f, "meta/strings/config_hash", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  h5::write_attr_i64(d, "length", 6);
  H5Dclose(d);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(f);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "string 'config_hash'")) << msg;
  EXPECT_TRUE(has(msg, "claims a 2147483648-byte string but stores 0 bytes")) << msg;
}

// Attributes are read into one value; one holding many elements is refused, not read past it.
TEST(CheckpointLimits, MultiElementAttributeIsRefused) {
  ScratchDir dir;
  std::string p = dir.file("attr.h5");
  write(p, testing::small_state(5));
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "meta/ints", H5P_DEFAULT);
  ASSERT_GE(H5Adelete(g, "step"), 0);
  const hsize_t n = 1000;
  hid_t space = H5Screate_simple(1, &n, nullptr);
  std::vector<std::int64_t> values(n, 7);
  hid_t a = H5Acreate2(g, "step", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, values.data()), 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Gclose(g);
  H5Fclose(f);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "int 'step'")) << msg;
  EXPECT_TRUE(has(msg, "attribute 'step' holds 1000 elements, not one")) << msg;
}

TEST(CheckpointFile, TamperedIntIsCaught) {
  ScratchDir dir;
  std::string p = dir.file("i.h5");
  write(p, testing::small_state(5));
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "meta/ints", H5P_DEFAULT);
  hid_t a = H5Aopen(g, "step", H5P_DEFAULT);
  std::int64_t v = 6;
  ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
  H5Aclose(a);
  H5Gclose(g);
  H5Fclose(f);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "metadata checksum mismatch")) << msg;
}

TEST(CheckpointFile, WrongOrMissingVersionIsRejected) {
  ScratchDir dir;
  std::string p = dir.file("v.h5");
  write(p, testing::small_state(1));
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t a = H5Aopen(f, "unlearn_format_version", H5P_DEFAULT);
  std::int64_t v = 2;
  ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &v), 0);
  H5Aclose(a);
  H5Fclose(f);
  std::string msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "has format version 2, this build of unlearn reads version 1")) << msg;
  EXPECT_TRUE(has(error_of([&] { inspect(p); }), "format version 2"));

  f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(H5Adelete(f, "unlearn_format_version"), 0);
  H5Fclose(f);
  msg = error_of([&] { read(p); });
  EXPECT_TRUE(has(msg, "not an unlearn checkpoint")) << msg;
}

TEST(CheckpointFile, NonHdf5FileIsCorrupt) {
  ScratchDir dir;
  std::string p = dir.file("x.h5");
  std::ofstream(p) << "not hdf5 at all";
  EXPECT_TRUE(has(error_of([&] { read(p); }), "HDF5 cannot open it"));
}

TEST(CheckpointFile, BadNamesAndDtypesAreRejectedWithoutTouchingTheTarget) {
  ScratchDir dir;
  std::string p = dir.file("keep.h5");
  write(p, testing::small_state(1));
  State bad = testing::small_state(2);
  bad.tensors["meta/x"] = torch::zeros({1});
  EXPECT_TRUE(has(error_of([&] { write(p, bad); }), "'meta/x' uses the reserved"));
  bad = testing::small_state(2);
  bad.tensors["model"] = torch::zeros({1});
  EXPECT_TRUE(has(error_of([&] { write(p, bad); }), "name 'model' is also a group"));
  bad = testing::small_state(2);
  bad.tensors["zz"] = torch::zeros({2}, torch::kComplexFloat);  // fails after others are written
  EXPECT_TRUE(has(error_of([&] { write(p, bad); }), "tensor 'zz' has unsupported dtype"));
  // The old file is intact and no temp file is left behind.
  EXPECT_EQ(read(p).ints.at("step"), 1);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string(), "keep.h5");
}

TEST(CheckpointFile, MissingDirectoryIsNamed) {
  ScratchDir dir;
  std::string msg = error_of([&] { write(dir.file("no/such/a.h5"), testing::small_state(1)); });
  EXPECT_TRUE(has(msg, "/no/such' does not exist")) << msg;
}

TEST(CheckpointFile, InspectListsAGoodFile) {
  ScratchDir dir;
  std::string p = dir.file("g.h5");
  write(p, testing::small_state(4));
  Summary s = inspect(p);
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(s.meta_ok);
  EXPECT_EQ(s.format_version, 1);
  ASSERT_EQ(s.tensors.size(), 2u);
  EXPECT_EQ(s.tensors[1].name, "model/w");
  EXPECT_EQ(s.tensors[1].shape, (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(s.tensors[1].bytes, 48u);
  EXPECT_EQ(s.tensors[1].dtype, "float32");
  EXPECT_EQ(s.ints.at("step"), 4);
  EXPECT_EQ(s.strings.at("config_hash"), "hash-4");
  std::string text = format_summary(s);
  EXPECT_TRUE(has(text, "OK, all checksums verified")) << text;
  EXPECT_TRUE(has(text, "model/w  float32 [4, 3]  48 B  ok")) << text;
}

}  // namespace
}  // namespace unl::checkpoint
