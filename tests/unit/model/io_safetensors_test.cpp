// safetensors: round trips for every dtype, hand-built files read back, sharded directories, and
// every corrupt-header case the reader must refuse with a message naming the file/tensor/problem.
#include "common/error.h"
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <string>
#include <vector>

namespace {

using unl::model::read_safetensors;
using unl::model::SafetensorsFile;
using unl::model::SafetensorsModel;
using unl::model::write_safetensors;

// Scratch directories, removed when the test binary exits (thousands were left in /tmp before).
struct TempDirs {
  std::vector<std::string> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};

std::string make_temp_dir() {
  static TempDirs made;
  char tmpl[] = "/tmp/unl_io_st_XXXXXX";
  const char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  made.dirs.emplace_back(d ? d : "");
  return d ? d : "";
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file built byte by byte: length, header text, data.
std::string raw_file(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// Expect constructing a SafetensorsFile on these bytes to throw with all `needles` in the message.
void expect_corrupt(const std::string& bytes, const std::vector<std::string>& needles) {
  const std::string dir = make_temp_dir();
  const std::string path = dir + "/bad.safetensors";
  write_bytes(path, bytes);
  try {
    SafetensorsFile f(path);
    ADD_FAILURE() << "no error for corrupt file; expected: " << needles[0];
  } catch (const unl::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "want '" << n << "' in: " << msg;
  }
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

TEST(Safetensors, ReadsHandBuiltFile) {
  // Two tensors in the order b then a within the data section; reader must follow offsets.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
      R"("b":{"dtype":"U8","shape":[2,2],"data_offsets":[0,4]}})";
  const std::string data = std::string("\x01\x02\x03\xff", 4) + floats({1.5f, -2.0f});
  const std::string dir = make_temp_dir();
  write_bytes(dir + "/m.safetensors", raw_file(header, data));
  SafetensorsFile f(dir + "/m.safetensors");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.info("a").dtype, "F32");
  EXPECT_EQ(f.info("b").shape, (std::vector<int64_t>{2, 2}));
  auto a = f.tensor("a", torch::kFloat32);
  EXPECT_EQ(a[0].item<float>(), 1.5f);
  EXPECT_EQ(a[1].item<float>(), -2.0f);
  auto b = f.tensor("b", torch::kInt64);
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(b[1][1].item<int64_t>(), 255);
  EXPECT_EQ(b[0][1].item<int64_t>(), 2);
  EXPECT_THROW(f.tensor("missing", torch::kFloat32), unl::Error);
}

TEST(Safetensors, ConvertsHalfBfloatAndBoolBits) {
  // F16 0x3C00 = 1.0, 0xC000 = -2.0; BF16 0x3F80 = 1.0, 0x4040 = 3.0; BOOL byte 2 reads as true.
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
      R"("bf":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},)"
      R"("m":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]},)"
      R"("s":{"dtype":"I16","shape":[],"data_offsets":[11,13]},)"
      R"("z":{"dtype":"F64","shape":[0,5],"data_offsets":[13,13]}})";
  const std::string data = std::string("\x00\x3c\x00\xc0", 4) + std::string("\x80\x3f\x40\x40", 4) +
                           std::string("\x00\x02\x01", 3) + std::string("\xfe\xff", 2);
  const std::string dir = make_temp_dir();
  write_bytes(dir + "/m.safetensors", raw_file(header, data));
  SafetensorsFile f(dir + "/m.safetensors");
  auto h = f.tensor("h", torch::kFloat32);
  EXPECT_EQ(h[0].item<float>(), 1.0f);
  EXPECT_EQ(h[1].item<float>(), -2.0f);
  auto bf = f.tensor("bf", torch::kFloat64);
  EXPECT_EQ(bf[0].item<double>(), 1.0);
  EXPECT_EQ(bf[1].item<double>(), 3.0);
  auto m = f.tensor("m", torch::kBool);
  EXPECT_EQ(m.scalar_type(), torch::kBool);
  EXPECT_FALSE(m[0].item<bool>());
  EXPECT_TRUE(m[1].item<bool>());
  EXPECT_TRUE(m[2].item<bool>());
  auto s = f.tensor("s", torch::kInt64);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<int64_t>(), -2);
  auto z = f.tensor("z", torch::kFloat32);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{0, 5}));
}

TEST(Safetensors, RoundTripsEveryDtype) {
  const std::vector<torch::Dtype> dtypes = {torch::kFloat32, torch::kFloat16, torch::kBFloat16,
                                            torch::kFloat64, torch::kInt64,   torch::kInt32,
                                            torch::kInt16,   torch::kInt8,    torch::kUInt8,
                                            torch::kBool};
  const std::vector<std::string> names = {"F32", "F16", "BF16", "F64", "I64",
                                          "I32", "I16", "I8",   "U8",  "BOOL"};
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  // Small integers are exact in every dtype, so the expectation is the same arange everywhere.
  for (size_t i = 0; i < dtypes.size(); ++i) {
    auto t = (torch::arange(6, torch::kInt64).reshape({2, 3}) * (i % 2 ? -1 : 1) + 3) % 7;
    if (dtypes[i] == torch::kBool) t = t.gt(2);
    if (dtypes[i] == torch::kUInt8) t = t.abs();
    tensors.emplace_back("t." + names[i], t.to(dtypes[i]));
  }
  const std::string dir = make_temp_dir();
  const std::string path = dir + "/model.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "x"}});
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"model.safetensors"});  // temp file renamed

  // Independent check of the layout: header length multiple of 8, offsets in name order.
  const std::string bytes = read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["note"], "x");
  EXPECT_EQ(header["t.BF16"]["data_offsets"][0], 0);  // "t.BF16" sorts first
  EXPECT_EQ(header["t.BF16"]["dtype"], "BF16");
  EXPECT_EQ(header["t.BF16"]["shape"], nlohmann::json({2, 3}));
  EXPECT_EQ(header["t.BOOL"]["data_offsets"], nlohmann::json({12, 18}));

  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().size(), 2u);
  for (size_t i = 0; i < dtypes.size(); ++i) {
    const auto& [name, want] = tensors[i];
    EXPECT_EQ(f.info(name).dtype, names[i]);
    auto got = f.tensor(name, dtypes[i]);
    EXPECT_EQ(got.scalar_type(), dtypes[i]);
    EXPECT_TRUE(torch::equal(got, want)) << name;
    EXPECT_TRUE(torch::equal(f.tensor(name, torch::kFloat64), want.to(torch::kFloat64))) << name;
  }
  auto all = read_safetensors(path);
  ASSERT_EQ(all.size(), dtypes.size());
  EXPECT_EQ(all[0].first, "t.BF16");
  EXPECT_EQ(all[0].second.scalar_type(), torch::kBFloat16);

  // Overwriting an existing file, non-contiguous input, and no metadata.
  auto nc = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();
  write_safetensors(path, {{"w", nc}}, {});
  SafetensorsFile g(path);
  EXPECT_TRUE(g.metadata().empty());
  EXPECT_TRUE(torch::equal(g.tensor("w", torch::kFloat32), nc));
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"model.safetensors"});
}

TEST(Safetensors, WriterRejectsBadInput) {
  const std::string dir = make_temp_dir();
  auto t = torch::zeros({2});
  EXPECT_THROW(write_safetensors(dir + "/a.safetensors", {{"x", t}, {"x", t}}), unl::Error);
  EXPECT_THROW(write_safetensors(dir + "/a.safetensors", {{"__metadata__", t}}), unl::Error);
  EXPECT_THROW(write_safetensors(dir + "/a.safetensors", {{"c", torch::zeros({2}, torch::kComplexFloat)}}),
               unl::Error);
  EXPECT_THROW(write_safetensors(dir + "/missing/a.safetensors", {{"x", t}}), unl::Error);
  EXPECT_TRUE(list_dir(dir).empty());
}

const std::string kGood = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
const std::string kEight(8, '\0');

TEST(SafetensorsCorrupt, ShortFileAndBadLengths) {
  expect_corrupt("abc", {"shorter than the 8-byte header length"});
  expect_corrupt(le64(1000) + "{}", {"header length 1000 exceeds the file size"});
  expect_corrupt(le64(200ull * 1000 * 1000) + "{}", {"exceeds the 100 MB limit"});
  expect_corrupt(le64(~0ull) + "{}", {"exceeds the 100 MB limit"});
}

// A header listing 10^7 tensors takes more than 100 MB: its length alone refuses it, before a
// byte of it is read or parsed, even when the (sparse) file really is that long.
TEST(SafetensorsLimits, HeaderOfTenMillionEntriesIsRefusedByItsLength) {
  const std::string path = make_temp_dir() + "/many.safetensors";
  const uint64_t header = 10000000ull * 60;  // ~60 bytes per {"dtype","shape","data_offsets"} entry
  write_bytes(path, le64(header) + "{");
  std::filesystem::resize_file(path, 8 + header);  // sparse: nothing is written
  try {
    SafetensorsFile f(path);
    ADD_FAILURE() << "no error";
  } catch (const unl::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("header length 600000000 exceeds the 100 MB limit"), std::string::npos) << msg;
  }
  std::filesystem::remove(path);
  // A 10^9 x 10^9 F32 shape (4e18 bytes, no overflow) over 8 stored bytes is refused from the header.
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[1000000000,1000000000],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "shape x dtype size (4000000000000000000 bytes) does not match data_offsets size (8 bytes)"});
}

TEST(SafetensorsCorrupt, HeaderNotJsonObject) {
  expect_corrupt(raw_file("{\"a\": ", ""), {"not valid JSON"});
  expect_corrupt(raw_file("", ""), {"not valid JSON"});
  expect_corrupt(raw_file("[1,2]", ""), {"must be a JSON object", "array"});
  expect_corrupt(raw_file("{" + kGood + "," + kGood + "}", kEight), {"'a' appears twice"});
  expect_corrupt(raw_file(R"({"a":[1]})", ""), {"tensor 'a'", "must be an object"});
}

TEST(SafetensorsCorrupt, BadDtypeAndShape) {
  expect_corrupt(raw_file(R"({"w":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "unknown or unsupported dtype 'F12'"});
  expect_corrupt(raw_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "dtype"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "shape must be a list"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "shape entry must be non-negative"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "shape entry must be an integer"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "shape entry must be an integer"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kEight),
                 {"tensor 'w'", "shape x dtype size (12 bytes)", "(8 bytes)"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                          kEight),
                 {"tensor 'w'", "overflow"});
}

TEST(SafetensorsCorrupt, BadOffsets) {
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[2]}})", kEight),
                 {"tensor 'w'", "data_offsets must be a list"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", kEight),
                 {"tensor 'w'", "data_offsets must be a list"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", kEight),
                 {"tensor 'w'", "data_offsets begin must be non-negative"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", kEight),
                 {"tensor 'w'", "begin 8 is after end 0"});
  expect_corrupt(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", kEight),
                 {"tensor 'w'", "end 12 is beyond the data section of 8 bytes"});
  // Overlap: b starts inside a.
  expect_corrupt(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          std::string(12, '\0')),
                 {"tensor 'b'", "overlap tensor 'a'"});
  // Identical ranges overlap too.
  expect_corrupt(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                          kEight),
                 {"overlap tensor"});
  // Hole between tensors.
  expect_corrupt(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                          std::string(12, '\0')),
                 {"tensor 'b'", "hole", "[4, 8)"});
  // Hole at the start.
  expect_corrupt(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", kEight),
                 {"tensor 'a'", "hole", "[0, 4)"});
  // Trailing bytes after the last tensor.
  expect_corrupt(raw_file("{" + kGood + "}", std::string(9, '\0')),
                 {"data section has 9 bytes but the tensors cover only 8"});
}

TEST(SafetensorsCorrupt, BadMetadata) {
  expect_corrupt(raw_file(R"({"__metadata__":{"format":1},)" + kGood + "}", kEight),
                 {"__metadata__ value of 'format' must be a string"});
  expect_corrupt(raw_file(R"({"__metadata__":["pt"],)" + kGood + "}", kEight),
                 {"__metadata__ must be an object"});
}

TEST(Safetensors, PaddedHeaderAndEmptyFile) {
  // Trailing spaces in the header are padding; a header with no tensors has no data.
  const std::string dir = make_temp_dir();
  write_bytes(dir + "/p.safetensors", raw_file("{" + kGood + "}    ", floats({3.0f, 4.0f})));
  SafetensorsFile p(dir + "/p.safetensors");
  EXPECT_EQ(p.tensor("a", torch::kFloat32)[1].item<float>(), 4.0f);
  write_bytes(dir + "/e.safetensors", raw_file("{}", ""));
  SafetensorsFile e(dir + "/e.safetensors");
  EXPECT_TRUE(e.names().empty());
  EXPECT_THROW(SafetensorsFile(dir + "/nonexistent.safetensors"), unl::Error);
}

// A sharded directory: two shards + index, written with the writer, read with SafetensorsModel.
std::string make_sharded(const std::string& index_json) {
  const std::string dir = make_temp_dir();
  write_safetensors(dir + "/model-00001-of-00002.safetensors",
                    {{"a", torch::full({2}, 1.0)}, {"b", torch::full({3}, 2.0)}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors",
                    {{"c", torch::full({1}, 3.0, torch::kBFloat16)}, {"extra", torch::zeros({1})}});
  write_bytes(dir + "/model.safetensors.index.json", index_json);
  return dir;
}

const std::string kIndex = R"({"metadata":{"total_size":24},"weight_map":{)"
                           R"("a":"model-00001-of-00002.safetensors",)"
                           R"("b":"model-00001-of-00002.safetensors",)"
                           R"("c":"model-00002-of-00002.safetensors"}})";

TEST(SafetensorsModel, ReadsShardedDirectory) {
  SafetensorsModel m(make_sharded(kIndex));
  // "extra" is in a shard but not in the map: ignored, as transformers does.
  EXPECT_EQ(m.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(m.contains("extra"));
  EXPECT_EQ(m.info("c").dtype, "BF16");
  EXPECT_EQ(m.tensor("b", torch::kFloat32).sum().item<float>(), 6.0f);
  EXPECT_EQ(m.tensor("c", torch::kFloat32).item<float>(), 3.0f);
  EXPECT_THROW(m.tensor("extra", torch::kFloat32), unl::Error);
}

TEST(SafetensorsModel, ReadsSingleFile) {
  const std::string dir = make_temp_dir();
  write_safetensors(dir + "/model.safetensors", {{"x", torch::ones({2, 2})}});
  SafetensorsModel m(dir);
  EXPECT_EQ(m.names(), std::vector<std::string>{"x"});
  EXPECT_EQ(m.tensor("x", torch::kFloat16).scalar_type(), torch::kFloat16);
}

void expect_bad_model(const std::string& dir, const std::vector<std::string>& needles) {
  try {
    SafetensorsModel m(dir);
    ADD_FAILURE() << "no error; expected " << needles[0];
  } catch (const unl::Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "want '" << n << "' in: " << msg;
  }
}

TEST(SafetensorsModel, RejectsBadIndex) {
  expect_bad_model(make_temp_dir(), {"neither model.safetensors nor model.safetensors.index.json"});
  expect_bad_model(make_sharded(R"({"weight_map":{"a":"model-00003-of-00002.safetensors"}})"),
                   {"shard 'model-00003-of-00002.safetensors'", "tensor 'a'", "does not exist"});
  expect_bad_model(make_sharded(R"({"weight_map":{"c":"model-00001-of-00002.safetensors"}})"),
                   {"tensor 'c'", "does not contain it"});
  expect_bad_model(make_sharded(R"({"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                                R"("a":"model-00002-of-00002.safetensors"}})"),
                   {"'a' appears twice"});
  expect_bad_model(make_sharded(R"({"weight_map":{"a":"../model-00001-of-00002.safetensors"}})"),
                   {"not a plain file name"});
  expect_bad_model(make_sharded(R"({"weight_map":{"a":1}})"), {"weight_map entry 'a'"});
  expect_bad_model(make_sharded(R"({"weights":{}})"), {"missing object 'weight_map'"});
  expect_bad_model(make_sharded(R"({"weight_map":)"), {"model.safetensors.index.json", "not valid JSON"});
  // The same tensor stored in two shards is ambiguous.
  const std::string dir = make_sharded(kIndex);
  write_safetensors(dir + "/model-00002-of-00002.safetensors",
                    {{"a", torch::zeros({2})}, {"c", torch::zeros({1}, torch::kBFloat16)}});
  expect_bad_model(dir, {"tensor 'a' is stored in two shards"});
  // A corrupt shard surfaces the shard's own error.
  const std::string dir2 = make_sharded(kIndex);
  write_bytes(dir2 + "/model-00002-of-00002.safetensors", "xx");
  expect_bad_model(dir2, {"model-00002-of-00002.safetensors", "shorter than the 8-byte"});
}

// A shard index over 100 MB is refused from its size before it is read (sparse file here).
TEST(SafetensorsLimits, OversizedShardIndexIsRefusedBeforeReading) {
  const std::string dir = make_sharded(kIndex);
  std::filesystem::resize_file(dir + "/model.safetensors.index.json", 100000001);
  expect_bad_model(dir, {"model.safetensors.index.json: 100000001 bytes exceeds the shard index limit of 100000000 bytes"});
  std::filesystem::remove_all(dir);
}

}  // namespace
