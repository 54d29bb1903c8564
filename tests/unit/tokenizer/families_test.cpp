// The three reference families (Llama-3, Qwen3, Mistral) against the vectors in
// ../shared/data/tokenizers/<family>/: encode.jsonl, decode.jsonl and chat.jsonl. Those vectors
// were computed with @huggingface/tokenizers 0.2.0 and @huggingface/jinja 0.5.13 and
// cross-checked against @lenml/tokenizers (see the folder's README.md).
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using unl::tokenizer::Pretrained;

const std::string kData = std::string(UNL_SOURCE_DIR) + "/../shared/data/tokenizers/";

std::vector<ordered_json> read_lines(const std::string& path) {
  std::vector<ordered_json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(ordered_json::parse(line));
  return out;
}

class Family : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = kData + GetParam();
    if (!std::filesystem::exists(dir_ + "/tokenizer.json")) GTEST_SKIP() << dir_ << " not found";
  }
  const Pretrained& tok() {
    static std::map<std::string, Pretrained> cache;
    auto it = cache.find(GetParam());
    if (it == cache.end()) it = cache.emplace(GetParam(), Pretrained::from_dir(dir_)).first;
    return it->second;
  }
  std::string dir_;
};

TEST_P(Family, EncodeMatchesReference) {
  const auto lines = read_lines(dir_ + "/encode.jsonl");
  ASSERT_FALSE(lines.empty());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string text = lines[i]["text"];
    EXPECT_EQ(tok().encode(text, false), lines[i]["ids"].get<std::vector<int64_t>>()) << "line " << i + 1 << ": " << text;
    EXPECT_EQ(tok().encode(text, true), lines[i]["ids_with_special"].get<std::vector<int64_t>>()) << "line " << i + 1;
  }
}

TEST_P(Family, DecodeMatchesReference) {
  const auto lines = read_lines(dir_ + "/decode.jsonl");
  ASSERT_FALSE(lines.empty());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto ids = lines[i]["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(tok().decode(ids, false, false), lines[i]["text"].get<std::string>()) << "line " << i + 1;
    EXPECT_EQ(tok().decode(ids, false, true), lines[i]["text_clean_up"].get<std::string>()) << "line " << i + 1;
  }
}

TEST_P(Family, ChatTemplateMatchesReference) {
  if (!std::filesystem::exists(dir_ + "/chat.jsonl")) GTEST_SKIP() << "no chat template for " << GetParam();
  const auto lines = read_lines(dir_ + "/chat.jsonl");
  ASSERT_TRUE(tok().has_chat_template());
  for (size_t i = 0; i < lines.size(); ++i) {
    const ordered_json kwargs = lines[i].contains("chat_template_kwargs") ? lines[i]["chat_template_kwargs"] : ordered_json::object();
    const std::string text = tok().apply_chat_template(lines[i]["messages"], lines[i]["add_generation_prompt"].get<bool>(), kwargs);
    EXPECT_EQ(text, lines[i]["text"].get<std::string>()) << "line " << i + 1;
    EXPECT_EQ(tok().encode(text, false), lines[i]["ids"].get<std::vector<int64_t>>()) << "line " << i + 1;
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, Family, ::testing::Values("llama3", "qwen3", "mistral"));

}  // namespace
