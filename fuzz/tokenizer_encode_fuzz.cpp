// libFuzzer target: the embedded GPT-2 tokenizer's encode on arbitrary bytes (invalid UTF-8
// included). encode reads text as Python's "replace" decoding does (each ill-formed sequence ->
// U+FFFD), so decode(encode(x)) must equal that decoding of x exactly.
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/error.h"
#include "model/bpe_pretokenize.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const unl::model::Tokenizer tok = unl::model::Tokenizer::gpt2();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto ids = tok.encode(text);
    for (int64_t id : ids) {
      if (id < 0 || id >= tok.vocab_size()) std::abort();
    }
    if (tok.decode(ids) != unl::model::bpe::utf8_replace_invalid(text)) std::abort();
  } catch (const unl::Error&) {
  }
  return 0;
}
