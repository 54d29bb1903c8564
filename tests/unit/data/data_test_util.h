// Helpers shared by the data tests: temp paths, raw byte files, a toy tokenizer, and
// "the error load_samples throws" as a string.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "data/data.h"

namespace unl_data_test {

inline std::string tmp(const std::string& name) {
  const auto dir = std::filesystem::path(testing::TempDir()) / "unl_data_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// One token per byte (value = byte): lets tests predict token ids by hand.
inline std::vector<int64_t> bytes_tok(std::string_view s) {
  std::vector<int64_t> out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

inline std::string load_error(const unl::data::DataSpec& spec, int64_t vocab = 300) {
  try {
    unl::data::load_samples(spec, bytes_tok, vocab);
  } catch (const unl::Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline unl::data::DataSpec spec_of(const std::string& path) {
  unl::data::DataSpec s;
  s.path = path;
  return s;
}

}  // namespace unl_data_test
