// libFuzzer target: Tokenizer::from_files on a hostile vocab.json + merges.txt (the input is split
// at the first NUL byte), then encode/decode of a fixed text with whatever tokenizer resulted.
#include <algorithm>
#include <string>

#include "common/error.h"
#include "fuzz/fuzz_util.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unl::fuzz::TempFile vocab(unl::fuzz::temp_path("-vocab.json"));
  static unl::fuzz::TempFile merges(unl::fuzz::temp_path("-merges.txt"));
  const uint8_t* split = std::find(data, data + size, uint8_t{0});
  unl::fuzz::write_file(vocab.path, data, static_cast<size_t>(split - data));
  const uint8_t* rest = split == data + size ? split : split + 1;
  unl::fuzz::write_file(merges.path, rest, static_cast<size_t>(data + size - rest));
  try {
    auto tok = unl::model::Tokenizer::from_files(vocab.path, merges.path);
    auto ids = tok.encode("Hello world, it's 2024!\n\t  caf\xc3\xa9 \xf0\x9f\x98\x80");
    (void)tok.decode(ids);
    (void)tok.vocab_size();
  } catch (const unl::Error&) {
  }
  return 0;
}
