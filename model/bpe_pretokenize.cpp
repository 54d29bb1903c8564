// GPT-2's pre-tokenizer regex implemented as a hand-written scanner over code points (std::regex
// has no \p{L}), plus the UTF-8 decoding rules shared with Python's "replace" error handler.
#include "model/bpe_pretokenize.h"

#include "model/unicode_tables.h"

#include <cstdint>

namespace unl::model::bpe {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;  // a byte outside valid UTF-8

// Length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0 if ill-formed.
// `cp` receives the code point. Ranges per Unicode Table 3-7 (no overlongs, no surrogates).
size_t utf8_sequence(std::string_view s, size_t i, char32_t& cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    const auto b = static_cast<uint8_t>(s[i + k]);
    if (b < lo || b > hi) return 0;
    lo = 0x80, hi = 0xBF;  // only the second byte has a narrowed range
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

// Code points with their byte offsets; one entry per invalid byte.
struct Chars {
  std::vector<char32_t> cp;
  std::vector<size_t> offset;  // size cp.size() + 1
};

Chars decode(std::string_view s) {
  Chars out;
  out.cp.reserve(s.size());
  out.offset.reserve(s.size() + 1);
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    size_t len = utf8_sequence(s, i, cp);
    out.offset.push_back(i);
    if (len == 0) {
      out.cp.push_back(kInvalid);
      i += 1;
    } else {
      out.cp.push_back(cp);
      i += len;
    }
  }
  out.offset.push_back(s.size());
  return out;
}

bool is_space(char32_t c) { return c != kInvalid && unicode::is_whitespace(c); }
bool is_letter(char32_t c) { return c != kInvalid && unicode::is_letter(c); }
bool is_number(char32_t c) { return c != kInvalid && unicode::is_number(c); }
bool is_other(char32_t c) { return !is_space(c) && !is_letter(c) && !is_number(c); }

// Length in characters of the match at position i (always >= 1).
size_t match_at(const std::vector<char32_t>& c, size_t i) {
  const size_t n = c.size();
  // 's|'t|'re|'ve|'m|'ll|'d
  if (c[i] == U'\'' && i + 1 < n) {
    const char32_t a = c[i + 1];
    if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
    if (i + 2 < n) {
      const char32_t b = c[i + 2];
      if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l'))
        return 3;
    }
  }
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional literal space, then a run of one
  // class. The first alternative whose class holds the first character after the space wins.
  const size_t start = (c[i] == U' ' && i + 1 < n) ? i + 1 : i;
  for (bool (*cls)(char32_t) : {is_letter, is_number, is_other}) {
    size_t s = cls(c[start]) ? start : (cls(c[i]) ? i : n);
    // With the space consumed the class must hold c[start]; without it, c[i] (never a space for
    // letters/numbers/others, so only the first branch can succeed when c[i] is ' ').
    if (s == n) continue;
    size_t j = s;
    while (j < n && cls(c[j])) ++j;
    return j - i;
  }
  // \s+(?!\S) then \s+: a whitespace run; if a non-space follows, leave the run's last
  // character to attach to the next piece (unless the run is a single character).
  size_t j = i;
  while (j < n && is_space(c[j])) ++j;
  if (j == n || j - i == 1) return j - i;
  return j - i - 1;
}

}  // namespace

std::vector<std::string_view> pretokenize(std::string_view text) {
  std::vector<std::string_view> out;
  if (text.empty()) return out;
  const Chars chars = decode(text);
  size_t i = 0;
  while (i < chars.cp.size()) {
    const size_t len = match_at(chars.cp, i);
    out.push_back(text.substr(chars.offset[i], chars.offset[i + len] - chars.offset[i]));
    i += len;
  }
  return out;
}

std::string utf8_replace_invalid(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp = 0;
    const size_t len = utf8_sequence(bytes, i, cp);
    if (len > 0) {
      out.append(bytes.substr(i, len));
      i += len;
      continue;
    }
    // Skip the maximal prefix of a well-formed sequence (a valid lead plus in-range
    // continuations): it becomes one U+FFFD, and the byte that broke it is examined afresh.
    const auto b0 = static_cast<uint8_t>(bytes[i]);
    size_t need = b0 >= 0xC2 && b0 <= 0xDF ? 2 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xF0 && b0 <= 0xF4 ? 4 : 1;
    uint8_t lo = b0 == 0xE0 ? 0xA0 : b0 == 0xF0 ? 0x90 : 0x80;
    uint8_t hi = b0 == 0xED ? 0x9F : b0 == 0xF4 ? 0x8F : 0xBF;
    size_t k = 1;
    while (k < need && i + k < bytes.size()) {
      const auto b = static_cast<uint8_t>(bytes[i + k]);
      if (b < lo || b > hi) break;
      lo = 0x80, hi = 0xBF;
      ++k;
    }
    out.append("\xEF\xBF\xBD");
    i += k;
  }
  return out;
}

}  // namespace unl::model::bpe
