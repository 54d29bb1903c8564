// UTF-8 helpers and the Unicode services the tokenizer pipeline needs (normalization forms, case
// mapping, character classes), all answered by ICU so they follow the Unicode tables, not ours.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace unl::tokenizer::unicode {

/// Decode the code point at s[i] (s must be valid UTF-8) and advance i past it.
char32_t next_code_point(std::string_view s, size_t& i);
/// Append the UTF-8 encoding of cp.
void append_utf8(std::string& out, char32_t cp);
/// Byte length of the UTF-8 sequence that starts with lead byte b (1 for a stray byte).
size_t utf8_length(unsigned char b);
/// Number of code points in valid UTF-8.
size_t count_code_points(std::string_view s);

/// True when s is well-formed UTF-8 (no surrogates, no overlongs, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);
/// Bytes to valid UTF-8 as Python's decode(errors="replace") and Rust's from_utf8_lossy do it:
/// each maximal ill-formed subsequence becomes one U+FFFD.
std::string replace_invalid_utf8(std::string_view bytes);

enum class Form { kNfc, kNfd, kNfkc, kNfkd };
/// Unicode normalization of valid UTF-8 (ICU Normalizer2).
std::string normalize(std::string_view s, Form form);
/// Per-character full lowercase mapping (as Rust's char::to_lowercase: no context, so a final
/// sigma becomes σ like any other), through ICU.
std::string lowercase(std::string_view s);

/// Unicode White_Space property (Rust char::is_whitespace).
bool is_whitespace(char32_t c);
/// General category N* (Rust char::is_numeric).
bool is_numeric(char32_t c);
/// ASCII punctuation or general category P* (Hugging Face's is_punc).
bool is_punctuation(char32_t c);
/// A regex \w character: Alphabetic, M*, Nd, Pc or Join_Control (Rust regex / Oniguruma).
bool is_word_char(char32_t c);

}  // namespace unl::tokenizer::unicode
