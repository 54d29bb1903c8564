// SQuAD normalisation and unigram F1 against Python's valid.py definitions; zlib sizes against
// Python's zlib.compress (goldens).
#include <gtest/gtest.h>

#include "eval/text_metrics.h"
#include "tests/unit/eval/golden.h"

namespace {
using namespace unl::eval;

TEST(TextMetrics, F1AndNormalisationMatchPython) {
  for (const auto& c : unl::eval_golden::goldens()["f1"]) {
    const auto p = c["pred"].get<std::string>(), t = c["truth"].get<std::string>();
    EXPECT_EQ(squad_normalize(p), c["norm_pred"].get<std::string>()) << p;
    EXPECT_NEAR(unigram_f1(p, t), c["f1"].get<double>(), 1e-12) << p << " | " << t;
  }
}

TEST(TextMetrics, F1ByHand) {
  // pred {cat, sat}, truth {cat, sat, down}: precision 1, recall 2/3, F1 0.8
  EXPECT_NEAR(unigram_f1("The cat sat.", "cat sat down"), 0.8, 1e-12);
  EXPECT_EQ(unigram_f1("a an the", "the"), 0.0);  // both normalise to nothing
  EXPECT_EQ(squad_normalize("theater at the bank"), "theater at bank");  // articles only as words
}

TEST(TextMetrics, ZlibSizeMatchesPython) {
  for (const auto& c : unl::eval_golden::goldens()["zlib"])
    EXPECT_EQ(zlib_size(c["text"].get<std::string>()), c["size"].get<size_t>()) << c["text"];
}
}  // namespace

namespace {
TEST(TextMetrics, RougeLRecallMatchesPython) {
  for (const auto& c : unl::eval_golden::goldens()["rouge"])
    EXPECT_NEAR(unl::eval::rouge_l_recall(c["pred"].get<std::string>(), c["ref"].get<std::string>()),
                c["recall"].get<double>(), 1e-12)
        << c["pred"];
}
}  // namespace
