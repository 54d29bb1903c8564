// TOFU metrics (eval/tofu.h) against goldens computed with numpy / scipy from open-unlearning's
// definitions (tests/golden/eval/make_tofu_goldens.py -> tofu_goldens.json), plus hand-checked
// cases, the retain model's eval.json reader and the TOFU task-file reader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "eval/results.h"
#include "eval/task_files.h"
#include "eval/tofu.h"
#include "tests/unit/eval/tofu_golden.h"

namespace {
using namespace unl::eval;
using unl::eval_golden::tofu_goldens;

TofuRole role_of(const std::string& r) {
  return r == "forget" ? TofuRole::kForget : r == "retain" ? TofuRole::kRetain : TofuRole::kOptions;
}

AnswerLoglik ll(const nlohmann::json& j) { return {j[0].get<double>(), j[1].get<int64_t>()}; }

std::vector<TofuRowScores> rows_of(const nlohmann::json& rows, std::vector<TofuDoc>* docs) {
  std::vector<TofuRowScores> out;
  for (const auto& r : rows) {
    TofuRowScores s;
    s.answer = ll(r["answer"]);
    if (r.contains("para")) s.paraphrased = ll(r["para"]);
    for (const auto& p : r["pert"]) s.perturbed.push_back(ll(p));
    s.generation = r["gen"].get<std::string>();
    out.push_back(s);
    TofuDoc d;
    d.question = "q";
    d.answer = r["answer_text"].get<std::string>();
    docs->push_back(d);
  }
  return out;
}

const MetricResult& find(const std::vector<MetricResult>& v, const std::string& name) {
  for (const auto& m : v)
    if (m.name == name) return m;
  throw std::runtime_error("no metric " + name);
}

// The per-row value a metric stores under its open-unlearning key.
nlohmann::ordered_json row_value(const MetricResult& m, int64_t i) {
  const auto& v = m.value_by_index.at(i);
  for (const char* k : {"prob", "score", "rougeL_recall"})
    if (v.contains(k)) return v[k];
  throw std::runtime_error("no value in " + m.name);
}

void expect_matches(const std::vector<MetricResult>& got, const nlohmann::json& want) {
  size_t n = 0;
  for (const auto& [name, w] : want.items()) {
    ++n;
    const auto& m = find(got, name);
    EXPECT_NEAR(m.agg_value, w["agg"].get<double>(), 1e-12 * std::max(1.0, std::abs(w["agg"].get<double>()))) << name;
    if (name.find("forget_quality") != std::string::npos) {
      EXPECT_NEAR(m.extra["ks_statistic"].get<double>(), w["statistic"].get<double>(), 1e-12);
      continue;
    }
    for (size_t i = 0; i < w["rows"].size(); ++i) {
      const auto g = row_value(m, static_cast<int64_t>(i));
      if (w["rows"][i].is_array()) {
        ASSERT_EQ(g.size(), w["rows"][i].size()) << name << " row " << i;
        for (size_t k = 0; k < g.size(); ++k) EXPECT_NEAR(g[k].get<double>(), w["rows"][i][k].get<double>(), 1e-12) << name;
      } else {
        EXPECT_NEAR(g.get<double>(), w["rows"][i].get<double>(), 1e-12 * std::max(1.0, std::abs(w["rows"][i].get<double>())))
            << name << " row " << i;
      }
    }
  }
  EXPECT_EQ(got.size(), n) << "metrics beyond the goldens'";
}

TEST(TofuMetrics, MatchOpenUnlearningDefinitionsInNumpy) {
  for (const auto& c : tofu_goldens()["metrics"]) {
    std::vector<TofuDoc> docs;
    const auto rows = rows_of(c["rows"], &docs);
    std::optional<std::vector<double>> retain;
    if (c.contains("retain_tr")) retain = c["retain_tr"].get<std::vector<double>>();
    const auto got = tofu_metrics(c["name"], role_of(c["role"]), docs, rows, retain);
    SCOPED_TRACE(c["name"].get<std::string>());
    expect_matches(got, c["want"]);
  }
}

TEST(TofuMetrics, ModelUtilityIsTheHarmonicMeanOfTheComponents) {
  std::vector<MetricResult> all;
  for (const auto& c : tofu_goldens()["metrics"]) {
    std::vector<TofuDoc> docs;
    const auto rows = rows_of(c["rows"], &docs);
    auto got = tofu_metrics(c["name"], role_of(c["role"]), docs, rows, std::nullopt);
    all.insert(all.end(), got.begin(), got.end());
  }
  auto names = tofu_utility_metrics("retain", TofuRole::kRetain);
  const auto ra = tofu_utility_metrics("ra", TofuRole::kOptions);
  names.insert(names.end(), ra.begin(), ra.end());
  EXPECT_EQ(names, tofu_goldens()["model_utility"]["names"].get<std::vector<std::string>>());
  EXPECT_TRUE(tofu_utility_metrics("forget", TofuRole::kForget).empty());
  const auto mu = model_utility(all, names);
  ASSERT_TRUE(mu.has_value());
  EXPECT_NEAR(mu->agg_value, tofu_goldens()["model_utility"]["value"].get<double>(), 1e-12);
  EXPECT_EQ(mu->extra["components"].size(), 6u);
  EXPECT_FALSE(model_utility(all, {"nothing"}).has_value());
}

TEST(TofuMetrics, HandCheckedTruthRatio) {
  // Paraphrase: 2 tokens at log-prob -1 each -> p = e^-1. Perturbed: e^-2 and e^-4 per token ->
  // exp(-(2 + 4) / 2) = e^-3. Ratio = e^-3 / e^-1 = e^-2 (up to the 1e-10 guard).
  TofuRowScores r;
  r.answer = {-1.0, 1};
  r.paraphrased = {-2.0, 2};
  r.perturbed = {{-2.0, 1}, {-12.0, 3}};
  EXPECT_NEAR(truth_ratio(r, TofuRole::kForget), std::exp(-2.0), 1e-9);
  // Options: the answer (p = e^-1) is the correct one.
  EXPECT_NEAR(truth_ratio(r, TofuRole::kOptions), std::exp(-2.0), 1e-9);
  // Equal probabilities: 1 but for the 1e-10 guard in the denominator.
  r.answer = {-3.0, 1};
  EXPECT_NEAR(truth_ratio(r, TofuRole::kOptions), std::exp(-3.0) / (std::exp(-3.0) + 1e-10), 1e-15);
  // Equal likelihoods: forget aggregate min(1, 1) = 1 (best), retain 1 - 1 = 0 (worst).
  TofuRowScores even;
  even.answer = even.paraphrased = {-1.0, 1};
  even.perturbed = {{-1.0, 1}};
  std::vector<TofuDoc> docs(1);
  docs[0].answer = "a";
  EXPECT_NEAR(find(tofu_metrics("forget", TofuRole::kForget, docs, {even}, std::nullopt), "forget_truth_ratio").agg_value, 1.0, 1e-9);
  EXPECT_NEAR(find(tofu_metrics("retain", TofuRole::kRetain, docs, {even}, std::nullopt), "retain_truth_ratio").agg_value, 0.0, 1e-9);
  // Forget quality against identical truth ratios: D = 0, p = 1.
  const auto tr = truth_ratio(even, TofuRole::kForget);
  EXPECT_DOUBLE_EQ(find(tofu_metrics("forget", TofuRole::kForget, docs, {even}, std::vector<double>{tr}), "forget_quality").agg_value, 1.0);
  // Another name: "<name>_forget_quality".
  EXPECT_NO_THROW(find(tofu_metrics("f10", TofuRole::kForget, docs, {even}, std::vector<double>{tr}), "f10_forget_quality"));
}

class TempDir : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("tofu_test_" + std::to_string(::getpid()));
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = (dir / name).string();
    std::ofstream(p) << text;
    return p;
  }
};

TEST_F(TempDir, TruthRatiosRoundTripThroughEvalJson) {
  std::vector<TofuDoc> docs(3);
  for (auto& d : docs) d.answer = "x";
  std::vector<TofuRowScores> rows(3);
  for (int i = 0; i < 3; ++i) {
    rows[i].answer = rows[i].paraphrased = {-1.0 - i, 2};
    rows[i].perturbed = {{-0.5 * i, 1}};
  }
  auto results = tofu_metrics("forget", TofuRole::kForget, docs, rows, std::nullopt);
  const auto path = write("retain_eval.json", results_json(results).dump(2));
  const auto got = read_truth_ratios(path, "forget_truth_ratio");
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(got[i], truth_ratio(rows[i], TofuRole::kForget));
  // Index order, not string order ("10" after "9"); nulls skipped.
  const auto p2 = write("b.json", R"({"forget_truth_ratio": {"agg_value": 1, "value_by_index":
      {"10": {"score": 3}, "9": {"score": 2}, "2": {"score": null}, "0": {"score": 1}}}})");
  EXPECT_EQ(read_truth_ratios(p2, "forget_truth_ratio"), (std::vector<double>{1, 2, 3}));
  try {
    read_truth_ratios(path, "f10_truth_ratio");
    FAIL() << "a missing metric must throw";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no \"f10_truth_ratio\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_truth_ratios((dir / "none.json").string(), "forget_truth_ratio"), unl::Error);
}

TEST_F(TempDir, TofuFilesAndTaskNames) {
  const auto p = write("f.jsonl",
                       R"({"question": "Q1", "answer": "A1", "paraphrased_answer": "P1", "perturbed_answer": ["x", "y"]})"
                       "\n\n"
                       R"({"question": "Q2", "answer": "A2", "paraphrased_answer": "P2", "perturbed_answer": "z"})"
                       "\n");
  const auto docs = read_tofu_file(p, true);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].perturbed, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(docs[1].perturbed, (std::vector<std::string>{"z"}));
  EXPECT_EQ(docs[1].paraphrased, "P2");
  // Options rows need no paraphrase; forget rows do, and the error names the file and line.
  const auto q = write("ra.jsonl", R"({"question": "Q", "answer": "A", "perturbed_answer": ["B", "C"]})" "\n");
  EXPECT_EQ(read_tofu_file(q, false).size(), 1u);
  try {
    read_tofu_file(q, true);
    FAIL() << "a forget row without paraphrased_answer must throw";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ra.jsonl:1: missing string field \"paraphrased_answer\""), std::string::npos) << e.what();
  }
  const auto bad = write("bad.jsonl", R"({"question": "Q", "answer": "A", "perturbed_answer": []})" "\n");
  EXPECT_THROW(read_tofu_file(bad, false), unl::Error);
  const auto specs = parse_task_list("tofu=f.jsonl,tofu_retain=r.jsonl,tofu_options:ra=a.jsonl,tofu_options:wf=w.jsonl");
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_EQ(specs[0].name, "forget");
  EXPECT_EQ(specs[1].name, "retain");
  EXPECT_EQ(specs[2].name, "ra");
  EXPECT_EQ(specs[3].kind, "tofu_options");
  EXPECT_THROW(parse_task_list("tofu"), unl::Error);  // needs a file
}
}  // namespace
