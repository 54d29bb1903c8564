// Pre-tokenizers: the second stage of a tokenizer.json pipeline, splitting normalized text into
// the pieces the model tokenizes one by one. Each variant is built from its JSON object.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace unl::tokenizer {

/// One piece of the text on its way through the pipeline.
struct Piece {
  std::string text;
  int64_t id = -1;        // >= 0: an added token already matched; later stages leave it alone
  bool at_start = false;  // begins at offset 0 of the original text (Metaspace prepend "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  /// Split (and possibly rewrite) every piece that has no id; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

/// How a split treats the delimiters it finds (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

/// [start, end) byte ranges covering a text in order, each flagged as a delimiter match or not.
using Segments = std::vector<std::pair<std::pair<size_t, size_t>, bool>>;

/// Segments from regex matches (gaps become non-matches); `invert` swaps the flags.
Segments segments_from_matches(const std::vector<std::pair<size_t, size_t>>& matches, size_t size, bool invert);
/// Segments where each character satisfying `is_delim` is one match.
Segments segments_from_chars(const std::string& text, const std::function<bool(char32_t)>& is_delim);
/// Apply `behavior` to a piece's segments, appending the non-empty sub-pieces to `out`.
void split_piece(const Piece& piece, const Segments& segments, SplitBehavior behavior, std::vector<Piece>& out);

/// Build from tokenizer.json's "pre_tokenizer" object (ByteLevel, Split, Metaspace, Digits,
/// Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, Sequence).
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where);

/// The Metaspace prepend rule, shared with the Metaspace decoder.
enum class PrependScheme { kAlways, kFirst, kNever };
PrependScheme metaspace_prepend_scheme(const nlohmann::json& j, const std::string& where);

}  // namespace unl::tokenizer
