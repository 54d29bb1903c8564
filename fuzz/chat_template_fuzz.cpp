// libFuzzer target: an arbitrary chat template rendered with a fixed conversation (the Jinja
// lexer, parser and renderer on hostile input). Only unl::Error may escape; output and macro
// recursion are bounded by the renderer.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenizer/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi\n<b>x</b>"},
                 {"role": "assistant", "content": "<think>\nhm\n</think>\n\nHello!"}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]})");
  const std::string source(reinterpret_cast<const char*>(data), size);
  try {
    (void)unl::tokenizer::jinja::render(source, context, "fuzz: ");
  } catch (const unl::Error&) {
  }
  return 0;
}
