// libFuzzer target: encode arbitrary bytes (invalid UTF-8 included) with the hand-made
// tokenizer.json pipelines of tests/golden/tokenizers/handmade (Metaspace, ByteLevel, byte
// fallback, subword affixes, splits, added tokens), then decode. Every id must be in the
// vocabulary, and only unl::Error may escape.
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenizer/tokenizer.h"

namespace {
std::vector<std::unique_ptr<unl::tokenizer::Tokenizer>> load() {
  std::vector<std::unique_ptr<unl::tokenizer::Tokenizer>> out;
  for (const char* name : {"metaspace_first", "normalize_and_split", "bytelevel_prefix", "byte_fallback_split", "split_isolated_metaspace"}) {
    std::ifstream in(std::string(UNL_FUZZ_ROOT) + "/tests/golden/tokenizers/handmade/" + name + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(unl::tokenizer::parse_tokenizer_json(nlohmann::json::parse(ss.str())["tokenizer"].dump(), name));
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tokenizers = load();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& tok : tokenizers) {
    try {
      for (bool special : {false, true}) {
        const auto ids = tok->encode(text, special);
        for (int64_t id : ids)
          if (id < 0 || id >= tok->vocab_size()) __builtin_trap();
        (void)tok->decode(ids, !special);
      }
    } catch (const unl::Error&) {
    }
  }
  return 0;
}
