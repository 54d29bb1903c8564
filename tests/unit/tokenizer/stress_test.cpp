// Seeded stress strings (mixed scripts, unusual whitespace, emoji, digits, contractions and the
// families' added tokens) and random id sequences, against @huggingface/tokenizers 0.2.0. The
// vectors and their generator are in tests/golden/tokenizers/ (make_stress.mjs). Decoding there
// applies the config's clean_up_tokenization_spaces, as transformers does.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

using nlohmann::ordered_json;
using unl::tokenizer::Pretrained;

const std::string kData = std::string(UNL_SOURCE_DIR) + "/../shared/data/tokenizers/";
const std::string kGolden = std::string(UNL_SOURCE_DIR) + "/tests/golden/tokenizers/";

class Stress : public ::testing::TestWithParam<std::string> {};

TEST_P(Stress, MatchesReferenceImplementation) {
  const std::string dir = kData + GetParam();
  if (!std::filesystem::exists(dir + "/tokenizer.json")) GTEST_SKIP() << dir << " not found";
  const Pretrained tok = Pretrained::from_dir(dir);
  std::ifstream in(kGolden + GetParam() + "_stress.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const ordered_json j = ordered_json::parse(line);
    if (j.contains("text")) {
      const std::string text = j["text"];
      const auto ids = tok.encode(text, false);
      EXPECT_EQ(ids, j["ids"].get<std::vector<int64_t>>()) << "line " << n << ": " << ordered_json(text).dump();
      EXPECT_EQ(tok.encode(text, true), j["ids_with_special"].get<std::vector<int64_t>>()) << "line " << n;
      EXPECT_EQ(tok.decode(j["ids"].get<std::vector<int64_t>>(), false, true), j["decoded"].get<std::string>()) << "line " << n;
    } else {
      const auto ids = j["ids"].get<std::vector<int64_t>>();
      EXPECT_EQ(tok.decode(ids, false, true), j["decoded"].get<std::string>()) << "line " << n;
      EXPECT_EQ(tok.decode(ids, true, true), j["decoded_skip"].get<std::string>()) << "line " << n;
    }
  }
  EXPECT_EQ(n, 240);
}

INSTANTIATE_TEST_SUITE_P(Reference, Stress, ::testing::Values("llama3", "qwen3", "mistral"));

}  // namespace
