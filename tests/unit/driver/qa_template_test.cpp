// A TOFU-style question/answer row through the real chat templates of ../shared/data/tokenizers
// (Llama-3, Qwen3): the rendered text and ids equal what transformers' apply_chat_template gave
// for the same conversation (chat.jsonl), and the prompt ends right after the assistant header.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "driver/inputs.h"
#include "model/tokenizer.h"

namespace unl::driver {
namespace {

const std::string kData = std::string(UNL_SOURCE_DIR) + "/../shared/data/tokenizers/";

// The chat.jsonl record of the haiku conversation (user question, assistant answer, no
// generation prompt): rendered by transformers, the independent expectation.
nlohmann::json haiku_record(const std::string& family) {
  std::ifstream in(kData + family + "/chat.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["messages"].size() == 2 && j["messages"][1]["role"] == "assistant" && !j["add_generation_prompt"].get<bool>())
      return j;
  }
  return nullptr;
}

std::string write_qa(const nlohmann::json& rec, const std::string& name) {
  const auto path = (std::filesystem::path(::testing::TempDir()) / name).string();
  nlohmann::json row = {{"question", rec["messages"][0]["content"]}, {"answer", rec["messages"][1]["content"]}};
  std::ofstream(path) << row.dump() << "\n";
  return path;
}

struct Family {
  std::string name;
  std::vector<int64_t> assistant_header;  // the ids the generation prompt ends with
  int64_t prompt_len;
};

TEST(QaChatTemplate, RendersLikeTransformersAndMasksThePrompt) {
  const std::vector<Family> families = {
      {"llama3", {128006, 78191, 128007, 271}, 17},  // <|start_header_id|>assistant<|end_header_id|>\n\n
      {"qwen3", {151644, 77091, 198}, 15},           // <|im_start|>assistant\n
  };
  for (const auto& f : families) {
    if (!std::filesystem::exists(kData + f.name + "/tokenizer.json")) GTEST_SKIP() << "no " << kData << f.name;
    SCOPED_TRACE(f.name);
    const auto rec = haiku_record(f.name);
    ASSERT_FALSE(rec.is_null());
    auto tok = model::Tokenizer::from_dir(kData + f.name);
    ASSERT_TRUE(tok.has_chat_template());
    DataConfig cfg;
    cfg.format = "qa";
    cfg.max_tokens = 1000;
    const auto set = load_token_set(cfg, write_qa(rec, f.name + "_qa.jsonl"), tok, tok.vocab_size());
    ASSERT_EQ(set.size(), 1u);
    EXPECT_EQ(set.texts[0], rec["text"].get<std::string>());
    EXPECT_EQ(set.tokens[0], rec["ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(set.prompt_lens[0], f.prompt_len);
    const auto& t = set.tokens[0];
    const int64_t h = static_cast<int64_t>(f.assistant_header.size());
    EXPECT_EQ(std::vector<int64_t>(t.begin() + f.prompt_len - h, t.begin() + f.prompt_len), f.assistant_header);
    // data.chat_template = "none": the plain join, encoded as text (Llama-3 adds its BOS).
    cfg.chat_template = "none";
    const auto plain = load_token_set(cfg, write_qa(rec, f.name + "_qa_plain.jsonl"), tok, tok.vocab_size());
    const std::string q = rec["messages"][0]["content"], a = rec["messages"][1]["content"];
    EXPECT_EQ(plain.texts[0], q + "\n" + a);
    EXPECT_EQ(plain.tokens[0], tok.encode(q + "\n" + a));
    EXPECT_EQ(plain.prompt_lens[0], static_cast<int64_t>(tok.encode(q + "\n").size()));
  }
}

}  // namespace
}  // namespace unl::driver
