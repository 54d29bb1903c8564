// The GPT-2 pre-tokenizer (the reference regex, hand-written) and the UTF-8 helpers byte-level
// BPE needs: lenient decoding for splitting, and Python's errors="replace" for decode.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace unl::model::bpe {

/// Split text the way GPT-2's pattern does, leftmost match, alternatives in this order:
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// The pieces are views into `text` and concatenate back to it. A byte that is not part of valid
/// UTF-8 counts as one character of the [^\s\p{L}\p{N}] class (its byte is kept as is).
std::vector<std::string_view> pretokenize(std::string_view text);

/// Bytes to valid UTF-8 as Python's bytes.decode("utf-8", errors="replace"): each maximal
/// ill-formed subsequence becomes one U+FFFD.
std::string utf8_replace_invalid(std::string_view bytes);

}  // namespace unl::model::bpe
