// Hand-made tokenizer.json files for the parts the reference families do not use (Metaspace,
// NFKC/Lowercase/NFD/StripAccents/Strip/Replace/Prepend normalizers, WhitespaceSplit, Digits,
// Punctuation, Whitespace, Split, subword prefix/suffix, unk (fused or not), byte fallback,
// lstrip/rstrip/single_word/normalized added tokens, Template/Roberta post-processors,
// Metaspace/BPEDecoder/ByteFallback/Fuse/Strip/Replace decoders). Expected ids and text come from
// @huggingface/tokenizers 0.2.0: tests/golden/tokenizers/make_handmade.mjs wrote the files.
#include "common/error.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

using nlohmann::json;
const std::string kDir = std::string(UNL_SOURCE_DIR) + "/tests/golden/tokenizers/handmade/";

class Handmade : public ::testing::TestWithParam<std::string> {};

TEST_P(Handmade, MatchesReferenceImplementation) {
  std::ifstream in(kDir + GetParam() + ".json");
  ASSERT_TRUE(in.good()) << kDir + GetParam();
  std::stringstream ss;
  ss << in.rdbuf();
  const json j = json::parse(ss.str());
  const auto tok = unl::tokenizer::parse_tokenizer_json(j["tokenizer"].dump(), GetParam() + ": ");
  ASSERT_FALSE(j["cases"].empty());
  for (const auto& c : j["cases"]) {
    const std::string text = c["text"];
    const auto ids = c["ids"].get<std::vector<int64_t>>();
    const auto with_special = c["ids_with_special"].get<std::vector<int64_t>>();
    EXPECT_EQ(tok->encode(text, false), ids) << json(text).dump();
    EXPECT_EQ(tok->encode(text, true), with_special) << json(text).dump();
    EXPECT_EQ(tok->decode(ids, false), c["decoded"].get<std::string>()) << json(text).dump();
    EXPECT_EQ(tok->decode(with_special, true), c["decoded_skip"].get<std::string>()) << json(text).dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Files, Handmade,
                         ::testing::Values("metaspace_first", "normalize_and_split", "bytelevel_prefix", "byte_fallback_split",
                                           "split_isolated_metaspace"));

}  // namespace
