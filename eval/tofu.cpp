// TOFU metrics from per-row log-likelihoods, in open-unlearning's definitions and output shape.
#include "eval/tofu.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/stats.h"
#include "eval/text_metrics.h"

namespace unl::eval {
namespace {
using nlohmann::ordered_json;

// open-unlearning's guard against a zero denominator (memorization.py, truth_ratio and
// probability_w_options).
constexpr double kEps = 1e-10;

double prob(const AnswerLoglik& a) { return std::exp(-a.avg_loss()); }

double mean_avg_loss(const std::vector<AnswerLoglik>& v) {
  double s = 0;
  for (const auto& a : v) s += a.avg_loss();
  return s / static_cast<double>(v.size());
}

MetricResult probability_metric(const std::string& name, const std::vector<TofuRowScores>& rows,
                                AnswerLoglik TofuRowScores::*field) {
  MetricResult m;
  m.name = name;
  std::vector<double> p;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& a = rows[i].*field;
    p.push_back(prob(a));
    m.value_by_index[static_cast<int64_t>(i)] = {{"prob", json_number(p.back())}, {"avg_loss", json_number(a.avg_loss())}};
  }
  m.agg_value = mean(p);
  return m;
}

}  // namespace

double truth_ratio(const TofuRowScores& row, TofuRole role) {
  UNL_CHECK(!row.perturbed.empty(), "a TOFU row has no perturbed answer", "this is a bug in the TOFU task");
  const double correct = role == TofuRole::kOptions ? row.answer.avg_loss() : row.paraphrased.avg_loss();
  return std::exp(-mean_avg_loss(row.perturbed)) / (std::exp(-correct) + kEps);
}

std::vector<MetricResult> tofu_metrics(const std::string& name, TofuRole role, const std::vector<TofuDoc>& docs,
                                       const std::vector<TofuRowScores>& rows,
                                       const std::optional<std::vector<double>>& retain_truth_ratios) {
  UNL_CHECK(docs.size() == rows.size() && !rows.empty(), "TOFU task " + name + ": rows and scores disagree",
            "this is a bug in the TOFU task");
  std::vector<MetricResult> out;
  out.push_back(probability_metric(name + "_Q_A_Prob", rows, &TofuRowScores::answer));
  if (role != TofuRole::kOptions) out.push_back(probability_metric(name + "_Q_A_PARA_Prob", rows, &TofuRowScores::paraphrased));
  {
    // Per row: the list of probabilities; agg = mean over rows of the row's mean (aggregate_to_1D).
    MetricResult m;
    m.name = name + "_Q_A_PERT_Prob";
    std::vector<double> row_means;
    for (size_t i = 0; i < rows.size(); ++i) {
      std::vector<double> p;
      ordered_json ps = ordered_json::array(), ls = ordered_json::array();
      for (const auto& a : rows[i].perturbed) {
        p.push_back(prob(a));
        ps.push_back(json_number(p.back()));
        ls.push_back(json_number(a.avg_loss()));
      }
      row_means.push_back(mean(p));
      m.value_by_index[static_cast<int64_t>(i)] = {{"prob", ps}, {"avg_loss", ls}};
    }
    m.agg_value = mean(row_means);
    out.push_back(std::move(m));
  }
  if (role == TofuRole::kOptions) {
    // probability_w_options: correct / (correct + sum of the wrong options + 1e-10).
    MetricResult m;
    m.name = name + "_Q_A_Prob_normalised";
    std::vector<double> v;
    for (size_t i = 0; i < rows.size(); ++i) {
      double wrong = 0;
      for (const auto& a : rows[i].perturbed) wrong += prob(a);
      const double c = prob(rows[i].answer);
      v.push_back(c / (c + wrong + kEps));
      m.value_by_index[static_cast<int64_t>(i)] = {{"prob", json_number(v.back())}};
    }
    m.agg_value = mean(v);
    out.push_back(std::move(m));
  }
  std::vector<double> tr;
  {
    MetricResult m;
    m.name = name + "_truth_ratio";
    double agg = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      tr.push_back(truth_ratio(rows[i], role));
      m.value_by_index[static_cast<int64_t>(i)] = {{"score", json_number(tr.back())}};
      // Forget: false and true equally likely is best (closer_to_1_better); elsewhere the true
      // answer should win (true_better).
      agg += role == TofuRole::kForget ? std::min(tr.back(), 1.0 / (tr.back() + kEps)) : std::max(0.0, 1.0 - tr.back());
    }
    m.agg_value = agg / static_cast<double>(rows.size());
    m.extra["aggregator"] = role == TofuRole::kForget ? "closer_to_1_better" : "true_better";
    out.push_back(std::move(m));
  }
  {
    MetricResult m;
    m.name = name + "_Q_A_ROUGE";
    std::vector<double> r;
    for (size_t i = 0; i < rows.size(); ++i) {
      r.push_back(rouge_l_recall(rows[i].generation, docs[i].answer));
      m.value_by_index[static_cast<int64_t>(i)] = {{"rougeL_recall", r.back()},
                                                   {"input", docs[i].question},
                                                   {"ground_truth", docs[i].answer},
                                                   {"generation", rows[i].generation}};
    }
    m.agg_value = mean(r);
    out.push_back(std::move(m));
  }
  if (role == TofuRole::kForget && retain_truth_ratios) {
    MetricResult m;
    m.name = name == "forget" ? "forget_quality" : name + "_forget_quality";
    const auto ks = ks_2samp(tr, *retain_truth_ratios);
    m.agg_value = ks.pvalue;
    m.extra["ks_statistic"] = json_number(ks.statistic);
    m.extra["retain_samples"] = static_cast<int64_t>(retain_truth_ratios->size());
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::string> tofu_utility_metrics(const std::string& name, TofuRole role) {
  switch (role) {
    case TofuRole::kForget: return {};
    case TofuRole::kRetain: return {name + "_Q_A_Prob", name + "_Q_A_ROUGE", name + "_truth_ratio"};
    case TofuRole::kOptions: return {name + "_Q_A_Prob_normalised", name + "_Q_A_ROUGE", name + "_truth_ratio"};
  }
  return {};
}

std::optional<MetricResult> model_utility(const std::vector<MetricResult>& results, const std::vector<std::string>& names) {
  std::vector<double> values;
  ordered_json components = ordered_json::object();
  for (const auto& n : names)
    for (const auto& r : results)
      if (r.name == n) {
        values.push_back(r.agg_value);
        components[n] = json_number(r.agg_value);
      }
  if (values.empty()) return std::nullopt;
  MetricResult m;
  m.name = "model_utility";
  m.agg_value = harmonic_mean(values);
  m.extra["components"] = std::move(components);
  return m;
}

std::vector<double> read_truth_ratios(const std::string& eval_json, const std::string& metric) {
  const std::string hint = "evaluate the retain-only model first with the same --tasks and --out, and pass that file";
  std::ifstream in(eval_json);
  UNL_CHECK(in.good(), "cannot read the retain model's eval file '" + eval_json + "'", hint);
  const auto j = nlohmann::json::parse(in, nullptr, false);
  UNL_CHECK(!j.is_discarded() && j.is_object(), "'" + eval_json + "' is not a JSON object", hint);
  UNL_CHECK(j.contains(metric) && j[metric].is_object() && j[metric].contains("value_by_index") &&
                j[metric]["value_by_index"].is_object(),
            "'" + eval_json + "' has no \"" + metric + "\" with a value_by_index", hint);
  std::map<int64_t, double> by_index;
  for (const auto& [k, v] : j[metric]["value_by_index"].items()) {
    int64_t idx = 0;
    try {
      idx = std::stoll(k);
    } catch (const std::exception&) {
      UNL_CHECK(false, "'" + eval_json + "': " + metric + " has the non-numeric index \"" + k + "\"", hint);
    }
    if (v.is_object() && v.contains("score") && v["score"].is_number()) by_index[idx] = v["score"].get<double>();
  }
  std::vector<double> out;
  for (const auto& [i, x] : by_index) out.push_back(x);
  UNL_CHECK(!out.empty(), "'" + eval_json + "': " + metric + " holds no score", hint);
  return out;
}

}  // namespace unl::eval
