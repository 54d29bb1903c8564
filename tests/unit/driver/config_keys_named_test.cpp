// Every configuration key named in a message, hint or doc exists: walks the string literals of
// every source file (and the docs), finds "<section>.<name>" for the config's sections (and the
// section names that never existed but were once used in hints, e.g. "comm."), and looks each up
// in the key table. A renamed key then fails here instead of misleading a user at run time.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "driver/job_config.h"

namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The contents of the double-quoted string literals of C++ source text (raw strings included
// only in their simple R"(...)" form; good enough for messages).
std::vector<std::string> string_literals(const std::string& src) {
  std::vector<std::string> out;
  static const std::regex lit(R"re("((?:[^"\\\n]|\\.)*)")re");
  for (auto it = std::sregex_iterator(src.begin(), src.end(), lit); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

std::set<std::string> sections() {
  std::set<std::string> s = {"comm"};  // not a section: hints once named comm.* keys by mistake
  for (const auto& k : unl::driver::config_keys()) s.insert(k.key.substr(0, k.key.find('.')));
  return s;
}

// Dotted names that are not keys: fields of tokenizer.json ("model.type", "model.merges", ...) and
// Hugging Face parameter prefixes, which share the "model" section's name.
bool is_other_name(const std::string& name) {
  static const std::set<std::string> names = {"model.type", "model.vocab", "model.merges", "model.byte_fallback",
                                              "model.unk_token", "model.fuse_unk", "model.ignore_merges",
                                              "model.continuing_subword_prefix", "model.end_of_word_suffix",
                                              "model.dropout", "model.layers", "model.norm", "model.embed_tokens",
                                              "model.max_input_chars_per_word"};
  return names.count(name) > 0;
}

// Dotted names that are file names, not keys.
bool is_file_name(const std::string& second) {
  static const std::set<std::string> ext = {"safetensors", "json", "jsonl", "h5", "npy", "txt", "toml", "cpp",
                                            "h", "md", "bin", "html", "py", "sh", "model", "log", "tmp"};
  return ext.count(second) > 0;
}

std::vector<std::string> unknown_keys_in(const std::string& text, const std::string& where) {
  static const std::set<std::string> secs = sections();
  static const std::regex key(R"re(\b([a-z_]+)\.([a-z_][a-z_0-9]*)\b)re");
  std::vector<std::string> bad;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), key); it != std::sregex_iterator(); ++it) {
    const std::string first = (*it)[1].str(), second = (*it)[2].str();
    if (!secs.count(first) || is_file_name(second)) continue;
    // Part of a longer dotted name (a parameter such as "model.layers.0.mlp", a JSON path such as
    // "model.merges" inside "tokenizer.model.merges"): not a key. "output.dir/final" still is one.
    const size_t begin = static_cast<size_t>(it->position()), end = begin + static_cast<size_t>(it->length());
    if ((begin > 0 && text[begin - 1] == '.') || (end < text.size() && text[end] == '.' && end + 1 < text.size() &&
                                                  std::isalnum(static_cast<unsigned char>(text[end + 1]))))
      continue;
    const std::string name = first + "." + second;
    if (!unl::driver::find_config_key(name) && !is_other_name(name)) bad.push_back(where + ": '" + name + "'");
  }
  return bad;
}

TEST(ConfigKeysNamed, EveryKeyInAMessageHintOrDocExists) {
  const fs::path root = UNL_SOURCE_DIR;
  std::vector<std::string> bad;
  size_t files = 0, named = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto& p = entry.path();
    const std::string rel = fs::relative(p, root).string();
    if (!entry.is_regular_file() || rel.rfind("build", 0) == 0 || rel.rfind(".git", 0) == 0 ||
        rel.rfind("tests/", 0) == 0 || rel.rfind("fuzz/corpus", 0) == 0 || rel.rfind("assets", 0) == 0)
      continue;
    const std::string ext = p.extension().string();
    if (ext == ".cpp" || ext == ".h") {
      ++files;
      for (const auto& lit : string_literals(read_file(p))) {
        auto b = unknown_keys_in(lit, rel);
        bad.insert(bad.end(), b.begin(), b.end());
        named += lit.find('.') != std::string::npos;
      }
    } else if (ext == ".md" && rel.rfind("docs/", 0) == 0) {
      ++files;
      auto b = unknown_keys_in(read_file(p), rel);
      bad.insert(bad.end(), b.begin(), b.end());
    }
  }
  EXPECT_GT(files, 50u);
  EXPECT_GT(named, 20u);
  std::string all;
  for (const auto& b : bad) all += "\n  " + b;
  EXPECT_TRUE(bad.empty()) << "messages name configuration keys that do not exist:" << all;
}

TEST(ConfigKeysNamed, TheScannerFindsAWrongKey) {
  // The walk above can only pass meaningfully if it would catch these.
  EXPECT_EQ(unknown_keys_in("set comm.stall_timeout_s higher", "x").size(), 1u);
  EXPECT_EQ(unknown_keys_in("lower optim.lr or train.batchsize", "x").size(), 1u);
  EXPECT_EQ(unknown_keys_in("runtime.stall_timeout_s and model.safetensors and data.forget", "x").size(), 0u);
}

}  // namespace
