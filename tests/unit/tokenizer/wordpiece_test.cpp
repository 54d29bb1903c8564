// WordPiece (BERT) tokenizer against goldens from an independent Python implementation of
// transformers' slow BertTokenizer (tests/golden/wordpiece/make_wordpiece_golden.py, Python's own
// unicodedata 14.0 and str.lower()), over ~300 texts and four option sets, with the hand-made
// vocab.txt there (no real BERT vocabulary is available offline). Plus vocab.txt parsing rules,
// tokenizer_config.json and errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tokenizer/wordpiece.h"

namespace unl::tokenizer {
namespace {

using Strings = std::vector<std::string>;
const std::string kDir = std::string(UNL_SOURCE_DIR) + "/tests/golden/wordpiece/";

WordPieceOptions options_named(const std::string& name) {
  WordPieceOptions o;
  if (name == "cased") o.do_lower_case = false;
  else if (name == "uncased_keep_accents") o.strip_accents = 0;
  else if (name == "no_cjk") o.tokenize_chinese_chars = false;
  else EXPECT_EQ(name, "uncased");
  return o;
}

TEST(WordPiece, GoldenAgainstPythonReference) {
  std::ifstream in(kDir + "wordpiece_golden.jsonl");
  ASSERT_TRUE(in);
  int records = 0, unknown = 0, truncated = 0;
  for (std::string line; std::getline(in, line);) {
    const auto r = nlohmann::json::parse(line);
    const std::string config = r.at("config"), text = r.at("text");
    SCOPED_TRACE(config + ": " + text);
    const auto tok = WordPieceTokenizer::from_vocab_file(kDir + "vocab.txt", options_named(config));
    EXPECT_EQ(tok.basic_tokenize(text), r.at("basic").get<Strings>());
    const auto tokens = tok.tokenize(text);
    EXPECT_EQ(tokens, r.at("tokens").get<Strings>());
    EXPECT_EQ(tok.encode(text), r.at("ids").get<std::vector<int64_t>>());
    const auto ids8 = r.at("ids_max8").get<std::vector<int64_t>>();
    EXPECT_EQ(tok.encode(text, true, 8), ids8);
    ++records;
    for (const auto& t : tokens) unknown += t == "[UNK]";
    truncated += ids8.size() == 8 && tokens.size() > 6;
  }
  EXPECT_GT(records, 500);
  EXPECT_GT(unknown, 50);    // [UNK] for uncovered and over-long words is exercised
  EXPECT_GT(truncated, 100); // and truncation to max_length
}

TEST(WordPiece, GreedyLongestMatchFirst) {
  WordPieceTokenizer tok({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##affable", "a", "##a"});
  EXPECT_EQ(tok.tokenize("unaffable"), (Strings{"un", "##affable"}));  // longest piece wins
  EXPECT_EQ(tok.tokenize("unaffablex"), (Strings{"[UNK]"}));           // one gap: the whole word
  EXPECT_EQ(tok.tokenize("aaa UNAFF"), (Strings{"a", "##a", "##a", "un", "##aff"}));
  EXPECT_EQ(tok.encode("un aaa", true, 4), (std::vector<int64_t>{2, 4, 8, 3}));
  EXPECT_EQ(tok.encode("un", false), (std::vector<int64_t>{4}));
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.token_to_id("zzz"), 1);
  EXPECT_EQ(tok.id_to_token(7), "##affable");
  EXPECT_THROW(tok.id_to_token(10), std::exception);
}

TEST(WordPiece, VocabFileAndConfig) {
  const auto dir = std::filesystem::temp_directory_path() / ("unl_wordpiece_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {  // CRLF and CR line ends as Python's universal newlines; a token listed twice maps to its last line
    std::ofstream v(dir / "vocab.txt", std::ios::binary);
    v << "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\nHello\nhello\nhello";
  }
  auto tok = WordPieceTokenizer::from_vocab_file((dir / "vocab.txt").string());
  EXPECT_EQ(tok.vocab_size(), 7);
  EXPECT_EQ(tok.cls_id(), 2);
  EXPECT_EQ(tok.token_to_id("hello"), 6);
  EXPECT_EQ(tok.tokenize("HELLO"), (Strings{"hello"}));
  {
    std::ofstream c(dir / "tokenizer_config.json");
    c << R"({"do_lower_case": false, "model_max_length": 3, "unk_token": {"content": "[UNK]"}})";
  }
  tok = WordPieceTokenizer::from_directory(dir.string());
  EXPECT_EQ(tok.tokenize("Hello"), (Strings{"Hello"}));
  EXPECT_EQ(tok.encode("Hello hello"), (std::vector<int64_t>{2, 4, 3}));  // model_max_length 3
  {
    std::ofstream c(dir / "tokenizer_config.json");
    c << R"({"do_lower_case": "yes"})";
  }
  EXPECT_THROW(WordPieceTokenizer::from_directory(dir.string()), std::exception);
  {
    std::ofstream c(dir / "tokenizer_config.json");
    c << R"({"cls_token": "<s>"})";
  }
  EXPECT_THROW(WordPieceTokenizer::from_directory(dir.string()), std::exception);  // <s> not in vocab
  std::filesystem::remove_all(dir);
  EXPECT_THROW(WordPieceTokenizer::from_directory(dir.string()), std::exception);  // no vocab.txt
  EXPECT_THROW(WordPieceTokenizer(Strings{}), std::exception);
}

}  // namespace
}  // namespace unl::tokenizer
