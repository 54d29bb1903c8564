// open-unlearning-shaped eval.json and the per-sample JSONL.
#include "eval/results.h"

#include <cmath>

namespace unl::eval {
using nlohmann::ordered_json;

ordered_json json_number(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

ordered_json results_json(const std::vector<MetricResult>& results) {
  ordered_json out = ordered_json::object();
  for (const auto& r : results) {
    ordered_json m = ordered_json::object();
    m["agg_value"] = json_number(r.agg_value);
    if (!r.value_by_index.empty()) {
      ordered_json by = ordered_json::object();
      for (const auto& [i, v] : r.value_by_index) by[std::to_string(i)] = v;
      m["value_by_index"] = std::move(by);
    }
    for (const auto& [k, v] : r.extra.items()) m[k] = v;
    out[r.name] = std::move(m);
  }
  return out;
}

std::string results_jsonl(const std::vector<MetricResult>& results) {
  std::string out;
  for (const auto& r : results)
    for (const auto& [i, v] : r.value_by_index) {
      ordered_json line = {{"metric", r.name}, {"index", i}};
      for (const auto& [k, x] : v.items()) line[k] = x;
      out += line.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
    }
  // Sub-blocks with their own value_by_index (an MIA score's "forget" and "holdout" sets).
  for (const auto& r : results)
    for (const auto& [set, block] : r.extra.items()) {
      if (!block.is_object() || !block.contains("value_by_index")) continue;
      for (const auto& [i, v] : block["value_by_index"].items()) {
        ordered_json line = {{"metric", r.name}, {"set", set}, {"index", std::stoll(i)}};
        for (const auto& [k, x] : v.items()) line[k] = x;
        out += line.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
      }
    }
  return out;
}

}  // namespace unl::eval
