// Pipeline components on their own, with expectations from the Rust tokenizers' own unit tests
// (pre_tokenizers/{split,digits,punctuation,whitespace,bert,metaspace}.rs, normalizers/*.rs,
// decoders/{strip,byte_fallback}.rs), for the behaviours the JavaScript reference gets wrong
// (Split with invert, Merged*/Contiguous) and for refusals of unknown parts.
#include "common/error.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace {

using nlohmann::json;
using namespace unl::tokenizer;
using Strings = std::vector<std::string>;

Strings pre(const json& j, const std::string& text) {
  std::vector<Piece> pieces{{text, -1, true}};
  make_pre_tokenizer(j, "test")->pre_tokenize(pieces);
  Strings out;
  for (const auto& p : pieces) out.push_back(p.text);
  return out;
}

std::string norm(const json& j, std::string text) {
  make_normalizer(j, "test")->normalize(text);
  return text;
}

TEST(PreTokenizer, SplitBehavioursAsTokenizersSplitRs) {
  // split.rs `basic`: the whitespace regex, inverted, under each behaviour.
  auto split = [](const char* behavior) {
    return pre({{"type", "Split"}, {"pattern", {{"Regex", R"(\w+|[^\w\s]+)"}}}, {"behavior", behavior}, {"invert", true}},
               "How are you doing?");
  };
  EXPECT_EQ(split("Removed"), (Strings{"How", "are", "you", "doing", "?"}));
  EXPECT_EQ(split("Isolated"), (Strings{"How", " ", "are", " ", "you", " ", "doing", "?"}));
  EXPECT_EQ(split("MergedWithPrevious"), (Strings{"How ", "are ", "you ", "doing", "?"}));
  EXPECT_EQ(split("MergedWithNext"), (Strings{"How", " are", " you", " doing", "?"}));
  EXPECT_EQ(split("Contiguous"), (Strings{"How", " ", "are", " ", "you", " ", "doing?"}));
  // split.rs `regex_string` and `invert`: a String pattern is literal.
  EXPECT_EQ(pre({{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Removed"}}, "Hey, man!"),
            pre({{"type", "Split"}, {"pattern", {{"Regex", R"(\s+)"}}}, {"behavior", "Removed"}}, "Hey, man!"));
  EXPECT_EQ(pre({{"type", "Split"}, {"pattern", {{"String", "Hello"}}}, {"behavior", "Removed"}, {"invert", true}}, "Hello Hello Hello"),
            (Strings{"Hello", "Hello", "Hello"}));
  EXPECT_EQ(pre({{"type", "Split"}, {"pattern", {{"String", "a.b"}}}, {"behavior", "Isolated"}}, "xa.byaxb"),
            (Strings{"x", "a.b", "yaxb"}));
}

TEST(PreTokenizer, DigitsPunctuationWhitespaceAsTokenizers) {
  EXPECT_EQ(pre({{"type", "Digits"}, {"individual_digits", false}}, "Hey 123 friend!"), (Strings{"Hey ", "123", " friend!"}));
  EXPECT_EQ(pre({{"type", "Digits"}, {"individual_digits", true}}, "Hey 123 friend!"),
            (Strings{"Hey ", "1", "2", "3", " friend!"}));
  EXPECT_EQ(pre({{"type", "Punctuation"}}, "Hey friend!     How are you?!?"),
            (Strings{"Hey friend", "!", "     How are you", "?", "!", "?"}));
  EXPECT_EQ(pre({{"type", "Whitespace"}}, "Hey man!"), (Strings{"Hey", "man", "!"}));
  EXPECT_EQ(pre({{"type", "Whitespace"}}, "How are you doing?"), (Strings{"How", "are", "you", "doing", "?"}));
  EXPECT_EQ(pre({{"type", "Whitespace"}}, "\n"), Strings{});
  EXPECT_EQ(pre({{"type", "WhitespaceSplit"}}, "Hey man!"), (Strings{"Hey", "man!"}));
  EXPECT_EQ(pre({{"type", "BertPreTokenizer"}}, "Hey friend!     How are you?!?"),
            (Strings{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}));
}

TEST(PreTokenizer, MetaspaceAsTokenizers) {
  const json always = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(pre(always, "Hey friend!"), (Strings{"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend!"}));
  EXPECT_EQ(pre(always, "Hey   friend!"), (Strings{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81", "\xE2\x96\x81" "friend!"}));
  json never = always;
  never["prepend_scheme"] = "never";
  EXPECT_EQ(pre(never, "Hey friend!"), (Strings{"Hey", "\xE2\x96\x81" "friend!"}));
  // "first" prepends only to a piece that starts the original text.
  std::vector<Piece> pieces{{"Hey", -1, true}, {"<x>", 7, false}, {"you", -1, false}};
  json first = always;
  first["prepend_scheme"] = "first";
  make_pre_tokenizer(first, "test")->pre_tokenize(pieces);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].text, "\xE2\x96\x81Hey");
  EXPECT_EQ(pieces[1].id, 7);
  EXPECT_EQ(pieces[2].text, "you");
}

TEST(Normalizer, VariantsAsTokenizers) {
  EXPECT_EQ(norm({{"type", "NFC"}}, "cafe\xCC\x81"), "caf\xC3\xA9");
  EXPECT_EQ(norm({{"type", "NFD"}}, "caf\xC3\xA9"), "cafe\xCC\x81");
  EXPECT_EQ(norm({{"type", "NFKC"}}, "\xEF\xAC\x81 \xE2\x85\xAB"), "fi XII");
  EXPECT_EQ(norm({{"type", "Lowercase"}}, "HeLLo \xC3\x89T\xC3\x89 \xCE\xA3\xCE\xA3"), "hello \xC3\xA9t\xC3\xA9 \xCF\x83\xCF\x83");
  EXPECT_EQ(norm({{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}, "  \t hi \n"), "hi \n");
  EXPECT_EQ(norm({{"type", "Strip"}}, "\xE3\x80\x80  hi \n"), "hi");  // normalizers/strip.rs: Unicode whitespace
  EXPECT_EQ(norm({{"type", "StripAccents"}}, "cafe\xCC\x81"), "cafe");
  EXPECT_EQ(norm({{"type", "Prepend"}, {"prepend", "_"}}, ""), "");
  EXPECT_EQ(norm({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}, "a \t\n b"), "a b");
  EXPECT_EQ(norm({{"type", "Replace"}, {"pattern", {{"String", "."}}}, {"content", "!"}}, "a.b"), "a!b");
}

TEST(Decoder, StripAndByteFallbackAsTokenizers) {
  // decoders/strip.rs: at most `start` leading / `stop` trailing copies, per token.
  auto dec = [](const json& j, Strings tokens) {
    Strings out = make_decoder(j, "test")->decode_chain(std::move(tokens));
    std::string s;
    for (const auto& t : out) s += t + "|";
    return s;
  };
  EXPECT_EQ(dec({{"type", "Strip"}, {"content", "H"}, {"start", 1}, {"stop", 0}}, {"Hey", " friend!", "HHH"}), "ey| friend!|HH|");
  EXPECT_EQ(dec({{"type", "Strip"}, {"content", "y"}, {"start", 0}, {"stop", 1}}, {"Hey", " friend!"}), "He| friend!|");
  // decoders/byte_fallback.rs: a run of byte tokens is its UTF-8, or one U+FFFD per byte.
  EXPECT_EQ(dec({{"type", "ByteFallback"}}, {"<0x61>"}), "a|");
  EXPECT_EQ(dec({{"type", "ByteFallback"}}, {"My", "<0xE5>", "<0x8f>", "<0xab>", "a"}), "My|\xE5\x8F\xAB|a|");
  EXPECT_EQ(dec({{"type", "ByteFallback"}}, {"<0xE5>", "<0x8f>", "a"}), "\xEF\xBF\xBD|\xEF\xBF\xBD|a|");
}

TEST(Regex, OnigurumaShorthandsMeanUnicode) {
  // \s is White_Space (U+0085 yes, U+180E and U+FEFF no), \d is Nd, \w includes marks.
  Regex s(R"(\s+)", "test");
  EXPECT_EQ(s.find_all("a\xC2\x85" "b").size(), 1u);
  EXPECT_TRUE(s.find_all("a\xE1\xA0\x8E" "b").empty());
  EXPECT_TRUE(s.find_all("a\xEF\xBB\xBF" "b").empty());
  EXPECT_EQ(Regex(R"(\d+)", "test").find_all("x\xD9\xA3\xD9\xA4y").size(), 1u);  // Arabic-Indic digits
  EXPECT_EQ(Regex(R"(\w+)", "test").find_all("e\xCC\x81t\xC3\xA9").size(), 1u);
  EXPECT_EQ(onig_to_pcre2(R"([^\s\p{L}])"), R"([^\p{White_Space}\p{L}])");
}

void expect_refused(const json& j, const std::string& needle) {
  try {
    parse_tokenizer_json(j.dump(), "tokenizer.json: ");
    ADD_FAILURE() << "no error; expected " << needle;
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "want '" << needle << "' in: " << e.what();
  }
}

TEST(TokenizerJson, UnsupportedPartsAreRefusedByName) {
  const json base = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}}};
  parse_tokenizer_json(base.dump(), "ok: ");
  auto with = [&](const char* key, json part) {
    json j = base;
    j[key] = std::move(part);
    return j;
  };
  expect_refused(with("normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}}), "normalizer type 'Precompiled' is not supported");
  expect_refused(with("normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Nmt"}}}}}), "normalizer.normalizers[0]: normalizer type 'Nmt'");
  expect_refused(with("pre_tokenizer", {{"type", "UnicodeScripts"}}), "pre_tokenizer type 'UnicodeScripts'");
  expect_refused(with("post_processor", {{"type", "Mystery"}}), "post_processor type 'Mystery'");
  expect_refused(with("decoder", {{"type", "CTC"}}), "decoder type 'CTC'");
  json unigram = base;
  unigram["model"]["type"] = "Unigram";
  expect_refused(unigram, "model type 'Unigram' is not supported");
  expect_refused(with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}}),
                 "regex '(unclosed' does not compile");
  expect_refused(with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}}),
                 "split behavior 'Sideways'");
  expect_refused(with("added_tokens", {{{"id", 5}, {"content", "x"}}, {{"id", 5}, {"content", "y"}}}), "id 5 is used by two added tokens");
  json dropout = base;
  dropout["model"]["dropout"] = 0.5;
  expect_refused(dropout, "model.dropout = 0.5 is not supported");
  json bad_merge = base;
  bad_merge["model"]["merges"] = {"a c"};
  expect_refused(bad_merge, "merge part 'c' is not in the vocabulary");
}

TEST(TokenizerJson, AddedTokenStripRules) {
  // added_vocabulary.rs: lstrip/rstrip take the neighbouring whitespace; single_word needs
  // non-word characters (or the text's ends) on both sides.
  const json j = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {" ", 1}, {"b", 2}}}, {"merges", json::array()}}},
                  {"added_tokens", {{{"id", 10}, {"content", "<L>"}, {"lstrip", true}, {"special", true}},
                                    {{"id", 11}, {"content", "<R>"}, {"rstrip", true}, {"special", true}},
                                    {{"id", 12}, {"content", "ab"}, {"single_word", true}, {"normalized", false}}}}};
  const auto tok = parse_tokenizer_json(j.dump(), "test: ");
  EXPECT_EQ(tok->encode("a  <L> b", false), (std::vector<int64_t>{0, 10, 1, 2}));
  EXPECT_EQ(tok->encode("a <R>  b", false), (std::vector<int64_t>{0, 1, 11, 2}));
  EXPECT_EQ(tok->encode("ab a ab", false), (std::vector<int64_t>{12, 1, 0, 1, 12}));
  EXPECT_EQ(tok->encode("aab ab.", false), (std::vector<int64_t>{0, 0, 2, 1, 12}));  // "." unknown: dropped without unk
  EXPECT_EQ(tok->vocab_size(), 13);
  EXPECT_TRUE(tok->is_special(10));
  EXPECT_FALSE(tok->is_special(12));
}

TEST(Bpe, SubwordPrefixAndSuffixMergeAsTokenizers) {
  // models/bpe/model.rs: non-first characters carry continuing_subword_prefix, the last one
  // end_of_word_suffix; a merge drops the right part's prefix ("t" + "##h" -> "th").
  const json j = {{"model", {{"type", "BPE"}, {"continuing_subword_prefix", "##"}, {"end_of_word_suffix", "</w>"},
                             {"unk_token", "[UNK]"},
                             {"vocab", {{"[UNK]", 0}, {"t", 1}, {"##h", 2}, {"##e</w>", 3}, {"th", 4}, {"the</w>", 5},
                                        {"c", 6}, {"##a", 7}, {"##t</w>", 8}, {"ca", 9}, {"##e", 10}}},
                             {"merges", {"t ##h", "th ##e</w>", "c ##a"}}}},
                  {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
                  {"decoder", {{"type", "BPEDecoder"}, {"suffix", "</w>"}}}};
  const auto tok = parse_tokenizer_json(j.dump(), "test: ");
  EXPECT_EQ(tok->encode("the cat", false), (std::vector<int64_t>{5, 9, 8}));
  EXPECT_EQ(tok->encode("tea", false), (std::vector<int64_t>{1, 10, 0}));  // "##a</w>" is unknown
  EXPECT_EQ(tok->decode({5, 9, 8}, false), "the ca##t");  // BPEDecoder only turns the suffix into a space
}

TEST(Unicode, InvalidUtf8IsReplacedLikePython) {
  EXPECT_EQ(unicode::replace_invalid_utf8("a\xF0\x9F\x98" "b\xFF"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  EXPECT_EQ(unicode::replace_invalid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: 3 bytes, 3 errors
  EXPECT_TRUE(unicode::is_valid_utf8("h\xC3\xA9"));
  EXPECT_FALSE(unicode::is_valid_utf8("\xC0\x80"));
}

}  // namespace
