// The golden values of tests/golden/eval/goldens.json (written by make_goldens.py with Debian's
// python3-torch and python3-sklearn, independently of the C++ code).
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace unl::eval_golden {
inline const nlohmann::json& goldens() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(UNL_SOURCE_DIR) + "/tests/golden/eval/goldens.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}
}  // namespace unl::eval_golden
