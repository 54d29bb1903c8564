// The hand-written pre-tokenizer against a brute-force reference: on ASCII, std::regex (ECMAScript
// alternation is ordered like Python's) can run GPT-2's pattern with \p{L} = [A-Za-z] and
// \p{N} = [0-9]. Also byte-level invariants on random bytes: pieces tile the input, decode(encode)
// is the input with invalid UTF-8 replaced.
#include "model/bpe_pretokenize.h"
#include "model/tokenizer.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace {

std::vector<std::string> regex_split(const std::string& text) {
  static const std::regex pattern(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+)");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it)
    out.push_back(it->str());
  return out;
}

TEST(PretokenizeProperty, MatchesStdRegexOnRandomAscii) {
  const std::string alphabet = "aZs tredvml'0 9\t\n!.,\x1f\r  ''";
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const int len = std::uniform_int_distribution<int>(0, 24)(rng);
    for (int i = 0; i < len; ++i)
      text.push_back(alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)]);
    auto got = unl::model::bpe::pretokenize(text);
    std::vector<std::string> pieces(got.begin(), got.end());
    ASSERT_EQ(pieces, regex_split(text)) << "text: '" << text << "'";
  }
}

TEST(PretokenizeProperty, RandomBytesTileAndRoundTrip) {
  auto tok = unl::model::Tokenizer::gpt2();
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int len = std::uniform_int_distribution<int>(0, 40)(rng);
    for (int i = 0; i < len; ++i) {
      // Mostly UTF-8 lead/continuation bytes and ASCII, so valid multi-byte characters occur.
      const int kind = std::uniform_int_distribution<int>(0, 3)(rng);
      const int lo = kind == 0 ? 0x20 : kind == 1 ? 0x80 : kind == 2 ? 0xC2 : 0x00;
      const int hi = kind == 0 ? 0x7E : kind == 1 ? 0xBF : kind == 2 ? 0xF4 : 0xFF;
      text.push_back(static_cast<char>(std::uniform_int_distribution<int>(lo, hi)(rng)));
    }
    std::string joined;
    for (auto piece : unl::model::bpe::pretokenize(text)) {
      ASSERT_FALSE(piece.empty());
      joined += piece;
    }
    ASSERT_EQ(joined, text);
    ASSERT_EQ(tok.decode(tok.encode(text)), unl::model::bpe::utf8_replace_invalid(text));
  }
}

}  // namespace
