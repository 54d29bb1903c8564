// JSONL reading through load_samples: text and ids lines, default ids, truncation, limits, and
// every malformed line giving an error that names the file and the line.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "data_test_util.h"

namespace {
using namespace unl_data_test;
using unl::data::DataSpec;

TEST(Jsonl, TextIdsDefaultsTruncationAndLimit) {
  const auto p = tmp("ok.jsonl");
  write_bytes(p, "\xEF\xBB\xBF{\"text\": \"hi!\"}\n\n{\"id\": 7, \"ids\": [5, 6, 7]}\r\n{\"text\": \"abcdef\", \"x\": 1}\n");
  DataSpec spec = spec_of(p);
  spec.max_tokens = 4;
  auto s = unl::data::load_samples(spec, bytes_tok, 300);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].id, 0);
  EXPECT_EQ(s[0].text, "hi!");
  EXPECT_EQ(s[0].tokens, (std::vector<int64_t>{'h', 'i', '!'}));
  EXPECT_EQ(s[1].id, 7);
  EXPECT_EQ(s[1].tokens, (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(s[1].text, "");
  EXPECT_EQ(s[2].id, 2);  // index among non-blank lines
  EXPECT_EQ(s[2].tokens, (std::vector<int64_t>{'a', 'b', 'c', 'd'}));
  spec.limit = 2;
  EXPECT_EQ(unl::data::load_samples(spec, bytes_tok, 300).size(), 2u);
}

TEST(Jsonl, CustomTextFieldAndIdsWinOverText) {
  const auto p = tmp("field.jsonl");
  write_bytes(p, "{\"body\": \"xy\"}\n{\"body\": \"zz\", \"ids\": [1, 2]}\n");
  DataSpec spec = spec_of(p);
  spec.text_field = "body";
  auto s = unl::data::load_samples(spec, bytes_tok, 300);
  EXPECT_EQ(s[0].tokens, (std::vector<int64_t>{'x', 'y'}));
  EXPECT_EQ(s[1].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s[1].text, "zz");
}

struct BadLine {
  const char* content;
  const char* expected;  // must appear in the error
};

TEST(Jsonl, EveryMalformedLineNamesFileAndLine) {
  const auto p = tmp("bad.jsonl");
  const std::vector<BadLine> cases = {
      {"{\"text\": \"fine\"}\n{\"text\": 3}\n", "bad.jsonl:2: field \"text\" must be a string"},
      {"{\"text\": \"fine\"}\n\nnot json\n", "bad.jsonl:3: not valid JSON"},
      {"{\"text\": \"fine\"\n", "bad.jsonl:1: not valid JSON"},
      {"[1, 2]\n", "bad.jsonl:1: a JSON array, not an object"},
      {"{\"body\": \"x\"}\n", "bad.jsonl:1: no \"text\" or \"ids\" field"},
      {"{\"text\": \"ok\"}\n{\"text\": \"\"}\n", "bad.jsonl:2: empty text"},
      {"{\"id\": \"a\", \"text\": \"ab\"}\n", "bad.jsonl:1: \"id\" must be an integer"},
      {"{\"id\": 1.5, \"text\": \"ab\"}\n", "bad.jsonl:1: \"id\" must be an integer"},
      {"{\"id\": 1, \"text\": \"ab\"}\n{\"id\": 1, \"text\": \"cd\"}\n", "bad.jsonl:2: duplicate id 1 (first at "},
      {"{\"text\": \"ab\"}\n{\"id\": 0, \"text\": \"cd\"}\n", "bad.jsonl:2: duplicate id 0"},
      {"{\"ids\": [1, 2, 999]}\n", "bad.jsonl:1: token id 999 at position 2 outside the vocabulary [0, 300)"},
      {"{\"ids\": [1, -4]}\n", "bad.jsonl:1: token id -4 at position 1 outside"},
      {"{\"ids\": [[1, 2], [3]]}\n", "bad.jsonl:1: \"ids\" is a nested (ragged) array"},
      {"{\"ids\": [1, \"2\"]}\n", "bad.jsonl:1: \"ids\" element 1 is \"2\", not an integer"},
      {"{\"ids\": \"1 2\"}\n", "bad.jsonl:1: \"ids\" must be an array"},
      {"{\"ids\": []}\n", "bad.jsonl:1: \"ids\" is empty"},
      {"{\"text\": \"ok\"}\n{\"ids\": [4]}\n", "bad.jsonl:2: only 1 token(s)"},
      {"\n \n", "holds no samples"},
  };
  for (const auto& c : cases) {
    write_bytes(p, c.content);
    const std::string err = load_error(spec_of(p));
    EXPECT_NE(err.find(c.expected), std::string::npos) << "input: " << c.content << "\nerror: " << err;
    EXPECT_NE(err.find("HINT: "), std::string::npos) << err;
  }
}

TEST(Jsonl, VocabularyHintAndMissingFiles) {
  const auto p = tmp("vocab.jsonl");
  write_bytes(p, "{\"text\": \"ab\"}\n");
  // 'a' = 97 is outside a 50-token vocabulary.
  const std::string err = load_error(spec_of(p), 50);
  EXPECT_NE(err.find("vocab.jsonl:1: token id 97 at position 0"), std::string::npos) << err;
  EXPECT_NE(err.find("HINT: the data was tokenized for another model"), std::string::npos) << err;
  EXPECT_NE(load_error(spec_of(tmp("missing.jsonl"))).find("missing.jsonl' does not exist"), std::string::npos);
  write_bytes(tmp("data.csv"), "a,b\n");
  EXPECT_NE(load_error(spec_of(tmp("data.csv"))).find("cannot tell the format"), std::string::npos);
  DataSpec no_tok = spec_of(p);
  EXPECT_THROW(unl::data::load_samples(no_tok, {}, 300), unl::Error);  // text needs a tokenizer
}

// One line longer than 64 MiB (a newline-free file, say) is refused at that line, before it is
// parsed or tokenized; the reader stops at the limit instead of growing the line further.
TEST(JsonlLimits, OverlongLineIsRefusedNamingFileAndLine) {
  const auto p = tmp("long.jsonl");
  {
    std::ofstream out(p, std::ios::binary);
    out << "{\"text\": \"ok\"}\n{\"text\": \"";
    const std::string block(1 << 20, 'a');
    for (int i = 0; i < 65; ++i) out << block;
    out << "\"}\n";
  }
  const std::string err = load_error(spec_of(p));
  EXPECT_NE(err.find("long.jsonl:2: line longer than the limit of 67108864 bytes"), std::string::npos) << err;
  EXPECT_NE(err.find("HINT: "), std::string::npos) << err;
  std::remove(p.c_str());
  // Lines without a final newline still end at end of file.
  write_bytes(p, "{\"text\": \"ab\"}\n\n{\"ids\": [1, 2]}");
  EXPECT_EQ(unl::data::load_samples(spec_of(p), bytes_tok, 300).size(), 2u);
}

TEST(Jsonl, WriterRoundTrip) {
  std::vector<unl::data::Sample> s = {{4, {1, 2}, ""}, {9, {104, 105}, "hi"}, {-3, {7, 8, 9}, ""}};
  unl::data::write_jsonl(tmp("w.jsonl"), s);
  auto back = unl::data::load_samples(spec_of(tmp("w.jsonl")), bytes_tok, 300);
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(back[i].id, s[i].id);
    EXPECT_EQ(back[i].tokens, s[i].tokens);
    EXPECT_EQ(back[i].text, s[i].text);
  }
}

}  // namespace
