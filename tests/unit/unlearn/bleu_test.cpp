// BLEU-4 and NLTK word tokenization against NLTK 3.8 itself. Goldens: tests/golden/bleu/, made by
// make_bleu_golden.py with Debian's python3-nltk: for ~300 (hypothesis, reference) pairs the
// tokens of word_tokenize(text.lower()) and sentence_bleu([ref], hyp). Known, documented deviation
// shared by the golden and the port: sentence splitting is NLTK's *untrained*
// PunktSentenceTokenizer() (the trained English Punkt model is nltk_data, not packaged by Debian);
// see unlearn/nltk_tokenize.h. Also Python's re classes per code point vs the port's ICU sets.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cfloat>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "unlearn/bleu.h"
#include "unlearn/nltk_tokenize.h"

namespace unl::unlearn {
namespace {

using Words = std::vector<std::string>;
const std::string kGolden = std::string(UNL_SOURCE_DIR) + "/tests/golden/bleu/";

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(NltkBleu, GoldenTokensAndScores) {
  const auto records = read_jsonl(kGolden + "bleu_golden.jsonl");
  ASSERT_GE(records.size(), 300u);
  int tiny = 0, zero = 0, mid = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const std::string hyp = r.at("hypothesis"), ref = r.at("reference");
    SCOPED_TRACE("pair " + std::to_string(i) + ": hyp=" + hyp + " | ref=" + ref);
    EXPECT_EQ(nltk_word_tokenize(python_lower(hyp)), r.at("hyp_tokens").get<Words>());
    EXPECT_EQ(nltk_word_tokenize(python_lower(ref)), r.at("ref_tokens").get<Words>());
    const double expected = r.at("bleu"), got = nltk_bleu4(hyp, ref);
    EXPECT_NEAR(got, expected, 1e-12);
    EXPECT_LE(std::fabs(got - expected), 1e-12 * std::fabs(expected));  // also the ~1e-77 ones
    (expected == 0 ? zero : expected < 1e-50 ? tiny : mid)++;
  }
  // The goldens exercise every branch: no unigram match, zero higher orders, ordinary scores.
  EXPECT_GT(zero, 10);
  EXPECT_GT(tiny, 10);
  EXPECT_GT(mid, 100);
}

// Python's \w \s \d, str.isupper() and str.islower() for every code point Python 3.11 (Unicode
// 14.0) assigns; code points new in ICU's later Unicode are skipped.
TEST(NltkBleu, PythonCharacterClasses) {
  std::ifstream in(kGolden + "python_char_classes.json");
  ASSERT_TRUE(in);
  const auto j = nlohmann::json::parse(in);
  auto member = [&](const char* name) {
    std::vector<bool> m(0x110000, false);
    for (const auto& r : j.at(name))
      for (int64_t cp = r[0]; cp <= r[1].get<int64_t>(); ++cp) m[cp] = true;
    return m;
  };
  const auto unassigned = member("unassigned");
  struct Class {
    const char* name;
    bool (*port)(int32_t);
  };
  for (const Class c : {Class{"word", detail::py_is_word}, Class{"space", detail::py_is_space},
                        Class{"digit", detail::py_is_digit}, Class{"upper", detail::py_is_upper},
                        Class{"lower", detail::py_is_lower}}) {
    const auto python = member(c.name);
    int mismatches = 0;
    for (int32_t cp = 0; cp < 0x110000; ++cp) {
      if (unassigned[cp] || c.port(cp) == python[cp]) continue;
      // Unicode 15 (ICU 72) made these modifier letters Other_Lowercase; Unicode 14 did not.
      const bool lowercase_in_15 = cp == 0x10FC || (cp >= 0xA7F2 && cp <= 0xA7F4) || cp == 0xAB69;
      if (std::string(c.name) == "lower" && lowercase_in_15) continue;
      if (++mismatches <= 5) ADD_FAILURE() << c.name << " differs at U+" << std::hex << cp;
    }
    EXPECT_EQ(mismatches, 0) << c.name;
  }
}

TEST(NltkBleu, SentenceSplittingAndTreebankRules) {
  // From NLTK's own docstrings (tokenize/destructive.py), which hold without sentence splitting.
  EXPECT_EQ(detail::treebank_tokenize("Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  "
                                      "Please buy me\ntwo of them.\nThanks."),
            (Words{"Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in",
                   "New", "York.", "Please", "buy", "me", "two", "of", "them.", "Thanks", "."}));
  // Untrained Punkt: a period after a lower-case-followed number or initial is no break; after
  // any other word it is (the trained model would keep "mr." together).
  EXPECT_EQ(detail::punkt_sentences("mr. smith paid 5. then left. (ok.) done"),
            (Words{"mr.", "smith paid 5. then left.", "(ok.)", "done"}));
  EXPECT_EQ(nltk_word_tokenize("mr. smith can't go."), (Words{"mr", ".", "smith", "ca", "n't", "go", "."}));
  EXPECT_TRUE(nltk_word_tokenize("").empty());
  EXPECT_TRUE(nltk_word_tokenize(" \n\t ").empty());
  EXPECT_EQ(python_lower("ΟΔΟΣ İ ÉTÉ"), "οδος i\xCC\x87 été");
}

// Hand-computed NLTK sentence_bleu values on given tokens.
TEST(SentenceBleu4, HandComputed) {
  const Words a = {"the", "cat", "sat", "on", "the", "mat", "today"};
  EXPECT_DOUBLE_EQ(sentence_bleu4(a, a), 1.0);
  EXPECT_EQ(sentence_bleu4({"a", "b"}, {"c", "d"}), 0.0);  // no unigram match: exactly 0
  EXPECT_EQ(sentence_bleu4({}, a), 0.0);
  EXPECT_EQ(sentence_bleu4(a, {}), 0.0);
  // "the cat": p1 = p2 = 1, no 3- or 4-grams -> two log(DBL_MIN) / 4 terms, BP = exp(1 - 7/2).
  const double two_zero = std::exp(1.0 - 3.5) * std::exp(0.5 * std::log(DBL_MIN));
  EXPECT_NEAR(sentence_bleu4({"the", "cat"}, a), two_zero, 1e-12 * two_zero);
  // NLTK's docstring sentences against reference1 alone: c = 18, r = 16; p = 11/18, 8/17, 6/16, 4/15.
  const Words hyp = {"It", "is", "a", "guide", "to", "action", "which", "ensures", "that", "the",
                     "military", "always", "obeys", "the", "commands", "of", "the", "party"};
  const Words ref = {"It", "is", "a", "guide", "to", "action", "that", "ensures", "that", "the",
                     "military", "will", "forever", "heed", "Party", "commands"};
  const double expected =
      std::exp(0.25 * (std::log(11.0 / 18) + std::log(8.0 / 17) + std::log(6.0 / 16) + std::log(4.0 / 15)));
  EXPECT_NEAR(sentence_bleu4(hyp, ref), expected, 1e-15);
  // Clipping: hyp "a b a b c d" vs "a b c d e f": p = 4/6, 3/5, 2/4, 1/3.
  const double clipped =
      std::exp(0.25 * (std::log(4.0 / 6) + std::log(3.0 / 5) + std::log(2.0 / 4) + std::log(1.0 / 3)));
  EXPECT_NEAR(sentence_bleu4({"a", "b", "a", "b", "c", "d"}, {"a", "b", "c", "d", "e", "f"}), clipped, 1e-15);
  // Brevity penalty: the first 5 of 10 reference words.
  EXPECT_NEAR(sentence_bleu4({"a", "b", "c", "d", "e"}, {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}),
              std::exp(1.0 - 2.0), 1e-15);
}

}  // namespace
}  // namespace unl::unlearn
