// bytes_to_unicode as openai/gpt-2 encoder.py defines it: printable Latin-1 bytes stand for
// themselves, the other 68 bytes for U+0100 onwards, in byte order.
#include "tokenizer/byte_level.h"

#include "tokenizer/unicode.h"

namespace unl::tokenizer::byte_level {
namespace {

struct Table {
  std::array<std::string, 256> chars;
  std::array<int16_t, 324> bytes;  // every mapped code point is below 0x144
  Table() {
    bytes.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      bytes[cp] = static_cast<int16_t>(b);
      unicode::append_utf8(chars[b], cp);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const std::string& char_of(unsigned char b) { return table().chars[b]; }

int byte_of(char32_t cp) { return cp < table().bytes.size() ? table().bytes[cp] : -1; }

std::string encode(std::string_view bytes) {
  const Table& t = table();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += t.chars[b];
  return out;
}

}  // namespace unl::tokenizer::byte_level
