// libFuzzer target: a hostile tokenizer.json (Hugging Face `tokenizers` format) through
// Tokenizer::from_dir, then encode/decode of a fixed text with whatever tokenizer resulted.
#include <filesystem>
#include <string>

#include "common/error.h"
#include "fuzz/fuzz_util.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const std::string d = unl::fuzz::temp_path("-tokenizer-json");
    std::filesystem::create_directories(d);
    return d;
  }();
  unl::fuzz::write_file(dir + "/tokenizer.json", data, size);
  try {
    auto tok = unl::model::Tokenizer::from_dir(dir);
    auto ids = tok.encode("Hello world, it's 2024!\n\t  caf\xc3\xa9 <|endoftext|> \xf0\x9f\x98\x80");
    for (int64_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) __builtin_trap();  // ids must index the vocabulary
    (void)tok.decode(ids);
  } catch (const unl::Error&) {
  }
  return 0;
}
