// Evaluation results in open-unlearning's shape (torch-free):
// {"<metric>": {"agg_value": x, "value_by_index": {"<i>": {...}}}}, plus one JSONL line per
// sample and metric.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unl::eval {

struct MetricResult {
  std::string name;
  double agg_value = 0;
  /// Per-sample values by index, e.g. {"score": 0.7}; empty for aggregate-only metrics.
  std::map<int64_t, nlohmann::ordered_json> value_by_index;
  /// Further keys next to agg_value (e.g. "forget"/"holdout" blocks of an MIA score).
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

/// {"<name>": {"agg_value": x, "value_by_index": {...}, ...extra}} in the given order. NaN and
/// infinite values are written as null (JSON has no NaN).
nlohmann::ordered_json results_json(const std::vector<MetricResult>& results);

/// One line per (metric, index): {"metric": name, "index": i, ...values}, then one per sample of
/// each extra block that has a value_by_index: {"metric", "set": block name, "index", ...}.
std::string results_jsonl(const std::vector<MetricResult>& results);

/// A number for JSON: null when not finite.
nlohmann::ordered_json json_number(double v);

}  // namespace unl::eval
