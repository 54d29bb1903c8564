// libFuzzer target: data::load_samples on a hostile JSONL or .npy file. The first input byte picks
// the format (even: jsonl, or with bit 5 / 6 set qa / chat, bit 7 through a toy chat template;
// odd: npy) and a column range; the rest is the file.
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "data/data.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static unl::fuzz::TempFile jsonl(unl::fuzz::temp_path(".jsonl"));
  static unl::fuzz::TempFile npy(unl::fuzz::temp_path(".npy"));
  const uint8_t mode = data[0];
  unl::data::DataSpec spec;
  spec.path = (mode & 1) ? npy.path : jsonl.path;
  spec.format = (mode & 1) ? "npy" : (mode & 32) ? "qa" : (mode & 64) ? "chat" : "jsonl";
  if (mode & 2) spec.col_begin = 1;
  if (mode & 4) spec.col_end = 3;
  if (mode & 8) spec.max_tokens = 4;
  if (mode & 16) spec.limit = 2;
  unl::fuzz::write_file(spec.path, data + 1, size - 1);
  // A toy tokenizer: one id per byte, so text lines exercise the tokenized path too.
  unl::data::TokenizeFn tokenize = [](std::string_view s) {
    std::vector<int64_t> ids;
    for (unsigned char c : s) ids.push_back(c);
    return ids;
  };
  unl::data::TextEncoder encoder;
  encoder.tokenize = tokenize;
  if (mode & 128) {
    encoder.tokenize_rendered = tokenize;
    encoder.render_chat = [](const std::vector<unl::data::Message>& messages, bool gen) {
      std::string out;
      for (const auto& m : messages) out += "<" + m.role + ">" + m.content + "</>";
      return gen ? out + "<assistant>" : out;
    };
  }
  try {
    auto samples = unl::data::load_samples_encoded(spec, encoder, 50257);
    (void)samples.size();
  } catch (const unl::Error&) {
  }
  return 0;
}
