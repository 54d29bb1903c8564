// GPT-2's reversible byte <-> printable character map (bytes_to_unicode), shared by the ByteLevel
// pre-tokenizer (bytes -> characters) and the ByteLevel decoder (characters -> bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace unl::tokenizer::byte_level {

/// UTF-8 of the character standing for byte b.
const std::string& char_of(unsigned char b);
/// The byte a code point stands for, or -1 when it is not one of the 256 characters.
int byte_of(char32_t cp);
/// Each byte of `bytes` replaced by its character.
std::string encode(std::string_view bytes);

}  // namespace unl::tokenizer::byte_level
