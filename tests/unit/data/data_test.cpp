// Dataset readers against files written byte by byte in the test, every malformed-input error
// naming file and line/row, collation, and split determinism.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "data/data.h"

namespace {
namespace fs = std::filesystem;
using unl::data::DataSpec;

std::string tmp(const std::string& name) {
  const auto dir = fs::path(testing::TempDir()) / "unl_data_test";
  fs::create_directories(dir);
  return (dir / name).string();
}
void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
// A toy tokenizer: one token per byte (value = byte).
std::vector<int64_t> bytes_tok(std::string_view s) { return std::vector<int64_t>(s.begin(), s.end()); }

std::string error_of(const DataSpec& spec, int64_t vocab = 300) {
  try {
    unl::data::load_samples(spec, bytes_tok, vocab);
  } catch (const unl::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Data, JsonlTextIdsAndDefaults) {
  const auto p = tmp("ok.jsonl");
  write(p, "{\"text\": \"hi!\"}\n\n{\"id\": 7, \"ids\": [5, 6, 7]}\n{\"text\": \"abcdef\"}\n");
  DataSpec spec{p};
  spec.max_tokens = 4;
  auto s = unl::data::load_samples(spec, bytes_tok, 300);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].id, 0);
  EXPECT_EQ(s[0].tokens, (std::vector<int64_t>{'h', 'i', '!'}));
  EXPECT_EQ(s[1].id, 7);
  EXPECT_EQ(s[1].tokens, (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(s[2].id, 2);
  EXPECT_EQ(s[2].tokens.size(), 4u);  // truncated
  spec.limit = 1;
  EXPECT_EQ(unl::data::load_samples(spec, bytes_tok, 300).size(), 1u);
}

TEST(Data, JsonlErrorsNameFileAndLine) {
  const auto p = tmp("bad.jsonl");
  write(p, "{\"text\": \"fine\"}\n{\"text\": 3}\n");
  EXPECT_NE(error_of({p}).find("bad.jsonl:2: field \"text\" must be a string"), std::string::npos) << error_of({p});
  write(p, "{\"text\": \"fine\"}\nnot json\n");
  EXPECT_NE(error_of({p}).find("bad.jsonl:2: not valid JSON"), std::string::npos);
  write(p, "[1, 2]\n");
  EXPECT_NE(error_of({p}).find("bad.jsonl:1: a JSON array, not an object"), std::string::npos);
  write(p, "{\"body\": \"x\"}\n");
  EXPECT_NE(error_of({p}).find("bad.jsonl:1: no \"text\" or \"ids\" field"), std::string::npos);
  write(p, "{\"text\": \"\"}\n");
  EXPECT_NE(error_of({p}).find("bad.jsonl:1: empty text"), std::string::npos);
  write(p, "{\"id\": 1, \"text\": \"ab\"}\n{\"id\": 1, \"text\": \"cd\"}\n");
  EXPECT_NE(error_of({p}).find("duplicate id 1"), std::string::npos);
  write(p, "{\"ids\": [1, 2, 999]}\n");
  EXPECT_NE(error_of({p}).find("token id 999 outside the vocabulary [0, 300)"), std::string::npos);
  EXPECT_NE(error_of({p}).find("HINT: the data was tokenized for another model"), std::string::npos);
  write(p, "\n\n");
  EXPECT_NE(error_of({p}).find("holds no samples"), std::string::npos);
  EXPECT_NE(error_of({tmp("missing.jsonl")}).find("does not exist"), std::string::npos);
}

// A .npy file assembled byte by byte (independent of the writer): uint16 [2, 3].
std::string npy_u16_2x3() {
  std::string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string b = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  for (uint16_t v : {1, 2, 50256, 4, 65535, 6}) b += std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  return b;
}

TEST(Data, NpyHandMadeBytesAndColumns) {
  const auto p = tmp("t.npy");
  write(p, npy_u16_2x3());
  auto rows = unl::data::read_npy_tokens(p);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<int64_t>{1, 2, 50256}));
  EXPECT_EQ(rows[1], (std::vector<int64_t>{4, 65535, 6}));
  DataSpec spec{p};
  spec.col_begin = 1;
  auto s = unl::data::load_samples(spec, {}, 70000);
  EXPECT_EQ(s[1].tokens, (std::vector<int64_t>{65535, 6}));
  EXPECT_EQ(s[1].id, 1);
  EXPECT_NE(error_of(spec, 50257).find("t.npy row 1: token id 65535 outside"), std::string::npos);
  spec.col_end = 9;
  EXPECT_NE(error_of(spec, 70000).find("column range"), std::string::npos);
}

TEST(Data, NpyRejectsLiesAndUnsupportedLayouts) {
  const auto p = tmp("bad.npy");
  std::string good = npy_u16_2x3();
  write(p, good.substr(0, good.size() - 1));  // truncated data
  EXPECT_NE(error_of({p}).find("does not match the file size"), std::string::npos);
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  write(p, fortran);
  EXPECT_NE(error_of({p}).find("Fortran-ordered"), std::string::npos);
  std::string big_endian = good;
  big_endian.replace(big_endian.find("<u2"), 3, ">u2");
  write(p, big_endian);
  EXPECT_NE(error_of({p}).find("dtype '>u2' is not a supported token type"), std::string::npos);
  std::string floats = good;
  floats.replace(floats.find("<u2"), 3, "<f2");
  write(p, floats);
  EXPECT_NE(error_of({p}).find("'<f2'"), std::string::npos);
  write(p, "PK\x03\x04 not numpy");
  EXPECT_NE(error_of({p}).find("not a .npy file"), std::string::npos);
  std::string one_d = good;
  one_d.replace(one_d.find("(2, 3)"), 6, "(6,)  ");
  write(p, one_d);
  EXPECT_NE(error_of({p}).find("1-D array"), std::string::npos);
}

TEST(Data, WritersRoundTripThroughReaders) {
  std::vector<std::vector<int64_t>> rows = {{3, 1, 4, 1}, {5, 9, 2, 6}};
  for (const char* dt : {"<u2", "<i4", "<i8"}) {
    unl::data::write_npy_tokens(tmp("w.npy"), rows, dt);
    EXPECT_EQ(unl::data::read_npy_tokens(tmp("w.npy")), rows) << dt;
  }
  unl::data::write_h5_tokens(tmp("w.h5"), "tokens", rows);
  EXPECT_EQ(unl::data::read_h5_tokens(tmp("w.h5"), "tokens"), rows);
  DataSpec h5{tmp("w.h5")};
  h5.h5_dataset = "nope";
  EXPECT_NE(error_of(h5).find("no dataset 'nope'"), std::string::npos);
  std::vector<unl::data::Sample> s = {{4, {1, 2}, ""}, {9, {104, 105}, "hi"}};
  unl::data::write_jsonl(tmp("w.jsonl"), s);
  auto back = unl::data::load_samples({tmp("w.jsonl")}, bytes_tok, 300);
  EXPECT_EQ(back[0].id, 4);
  EXPECT_EQ(back[0].tokens, s[0].tokens);
  EXPECT_EQ(back[1].tokens, s[1].tokens);
  EXPECT_EQ(unl::data::dataset_hash(back), unl::data::dataset_hash(s));
  back[1].tokens[0] = 7;
  EXPECT_NE(unl::data::dataset_hash(back), unl::data::dataset_hash(s));
}

TEST(Data, CollateLeftAndRight) {
  std::vector<std::vector<int64_t>> rows = {{1, 2, 3}, {4}};
  auto r = unl::data::collate(rows, 0, false);
  EXPECT_TRUE(torch::equal(r.ids, torch::tensor({{1, 2, 3}, {4, 0, 0}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(r.mask, torch::tensor({{1, 1, 1}, {1, 0, 0}}, torch::kInt64)));
  auto l = unl::data::collate(rows, 9, true, 4);
  EXPECT_TRUE(torch::equal(l.ids, torch::tensor({{9, 1, 2, 3}, {9, 9, 9, 4}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(l.mask, torch::tensor({{0, 1, 1, 1}, {0, 0, 0, 1}}, torch::kInt64)));
}

TEST(Data, SplitIsDeterministicAndDisjoint) {
  std::vector<unl::data::Sample> s;
  for (int i = 0; i < 20; ++i) s.push_back({i, {i, i + 1}, ""});
  auto a = unl::data::split_heldout(s, 5, 1), b = unl::data::split_heldout(s, 5, 1);
  ASSERT_EQ(a.second.size(), 5u);
  ASSERT_EQ(a.first.size(), 15u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a.second[i].id, b.second[i].id);
  std::set<int64_t> held;
  for (auto& x : a.second) held.insert(x.id);
  for (auto& x : a.first) EXPECT_FALSE(held.count(x.id));
  auto c = unl::data::split_heldout(s, 5, 2);
  std::set<int64_t> other;
  for (auto& x : c.second) other.insert(x.id);
  EXPECT_NE(held, other);
}

}  // namespace
