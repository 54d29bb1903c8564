// Unicode character classes the GPT-2 pre-tokenizer regex needs (\p{L}, \p{N}, \s), without a
// regex engine or ICU: compact generated range tables (unicode_tables.cpp).
#pragma once

namespace unl::model::unicode {

/// General category L (Lu, Ll, Lt, Lm, Lo).
bool is_letter(char32_t c);
/// General category N (Nd, Nl, No).
bool is_number(char32_t c);
/// The White_Space property (\s in the reference regex engines).
bool is_whitespace(char32_t c);

}  // namespace unl::model::unicode
