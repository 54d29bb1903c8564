// The golden values of tests/golden/eval/tofu_goldens.json (written by make_tofu_goldens.py with
// Debian's python3-numpy and python3-scipy, independently of the C++ code).
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace unl::eval_golden {
inline const nlohmann::json& tofu_goldens() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(UNL_SOURCE_DIR) + "/tests/golden/eval/tofu_goldens.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}
}  // namespace unl::eval_golden
