// evaluate_samples on the counting table model: BLEU of the generated continuation (greedy and
// 2-beam, with and without EOS) against hand-computed values, plus MA / EL_n / CE passed through.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cfloat>
#include <cmath>

#include "tests/unit/unlearn/fake_model.h"
#include "unlearn/metrics.h"

namespace unl::unlearn {
namespace {

using Seq = std::vector<int64_t>;

std::string words(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t t : ids) s += "w" + std::to_string(t) + " ";
  return s;
}

testing::TableLM counting_model() {
  std::vector<int64_t> succ(10);
  for (int64_t v = 0; v < 10; ++v) succ[v] = (v + 1) % 10;
  return testing::TableLM(testing::successor_table(succ));
}

TEST(ContinuationWindow, OfficialWindowThenSlidesBackThenSplits) {
  EvalOptions o;
  o.prompt_begin = 100;
  o.prefix_len = 50;
  o.gen_len = 50;
  auto w = continuation_window(200, o);  // the official window: prompt [100,150), reference [150,200)
  EXPECT_TRUE(w.full);
  EXPECT_EQ(w.begin, 100);
  EXPECT_EQ(w.prompt_end, 150);
  EXPECT_EQ(w.end, 200);
  w = continuation_window(400, o);
  EXPECT_TRUE(w.full);
  EXPECT_EQ(w.end, 200);
  w = continuation_window(160, o);  // slides back to end at T
  EXPECT_FALSE(w.full);
  EXPECT_EQ(w.begin, 60);
  EXPECT_EQ(w.prompt_end, 110);
  EXPECT_EQ(w.end, 160);
  w = continuation_window(40, o);  // split 1:1
  EXPECT_FALSE(w.full);
  EXPECT_EQ(w.begin, 0);
  EXPECT_EQ(w.prompt_end, 20);
  EXPECT_EQ(w.end, 40);
  w = continuation_window(2, o);
  EXPECT_EQ(w.prompt_end, 1);
  EXPECT_EQ(w.end, 2);
  EXPECT_TRUE(continuation_window(1, o).empty());
}

TEST(EvaluateSamples, ContinuationBleuByHand) {
  auto model = counting_model();
  EvalOptions o;
  o.n = 2;
  o.suffix_start = 1;
  o.prefix_len = 3;
  o.gen_len = 6;
  o.prompt_begin = 0;
  o.batch_size = 2;
  o.pad_token_id = 0;
  const std::vector<Seq> seqs = {
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},  // memorised: continuation == reference
      {0, 1, 2, 7, 8, 9, 0, 5, 5},     // continuation 3..8 vs 7 8 9 0 5 5: p = 3/6 1/5 0 0
      {0, 1, 2, 3, 4, 5, 6, 7, 1},     // 3 4 5 6 7 8 vs 3 4 5 6 7 1: p = 5/6 4/5 3/4 2/3
      {4, 5, 6},                       // shorter than the window: prompt 4, reference 5 6
  };
  const std::vector<int64_t> ids = {10, 11, 12, 13};
  for (int64_t beams : {1, 2}) {
    o.num_beams = beams;
    auto m = evaluate_samples(*model, ids, seqs, o, words);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[2].id, 12);
    EXPECT_DOUBLE_EQ(m[0].bleu, 1.0) << beams;
    // NLTK without smoothing: each zero precision enters as log(DBL_MIN) / 4, so ~1e-154, not 0.
    const double tiny = std::exp(0.25 * (std::log(0.5) + std::log(0.2) + 2 * std::log(DBL_MIN)));
    EXPECT_NEAR(m[1].bleu, tiny, 1e-12 * tiny) << beams;
    EXPECT_NEAR(m[2].bleu, std::pow(1.0 / 3.0, 0.25), 1e-12) << beams;
    // Generated 5 6 7 8 9 0 against 5 6: p = 2/6 1/5 0 0, longer than the reference so no brevity penalty.
    const double short_tiny = std::exp(0.25 * (std::log(2.0 / 6) + std::log(0.2) + 2 * std::log(DBL_MIN)));
    EXPECT_NEAR(m[3].bleu, short_tiny, 1e-12 * short_tiny) << beams;
    // The other metrics are those of the dedicated functions.
    auto el = extraction_likelihood(*model, seqs, o);
    auto tf = teacher_forced_metrics(*model, seqs, 4, 0);
    for (size_t j = 0; j < seqs.size(); ++j) {
      EXPECT_EQ(m[j].el, el[j]);
      EXPECT_EQ(m[j].ma, tf.ma[j]);
      EXPECT_NEAR(m[j].loss, tf.loss[j], 1e-9);
      EXPECT_EQ(m[j].tokens, static_cast<int64_t>(seqs[j].size()) - 1);
    }
    EXPECT_DOUBLE_EQ(m[0].ma, 1.0);
    EXPECT_DOUBLE_EQ(m[0].el, 1.0);
  }
  // EOS = 8 ends the continuation 3 4 5 6 7 (5 words vs 6): precisions 1, BP = exp(1 - 6/5).
  o.num_beams = 1;
  o.eos_token_id = 8;
  auto m = evaluate_samples(*model, ids, seqs, o, words);
  EXPECT_NEAR(m[2].bleu, std::exp(1.0 - 6.0 / 5.0), 1e-12);
  // Without a decoder BLEU is not computed.
  EXPECT_EQ(evaluate_samples(*model, ids, seqs, o, nullptr)[0].bleu, 0.0);
  EXPECT_THROW(evaluate_samples(*model, {1}, seqs, o, words), std::exception);
}

}  // namespace
}  // namespace unl::unlearn
