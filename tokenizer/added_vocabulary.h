// Added tokens (tokenizer.json "added_tokens"): strings matched in the text before the model sees
// it, raw ones in the original text and `normalized` ones in the normalized text, with the
// lstrip / rstrip / single_word rules of tokenizers' AddedVocabulary.
#pragma once

#include "tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace unl::tokenizer {

class Normalizer;

struct AddedToken {
  int64_t id = -1;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  /// From the "added_tokens" list; `normalizer` (may be null) normalizes `normalized` tokens.
  AddedVocabulary(const nlohmann::json& list, const std::string& where, const Normalizer* normalizer);

  /// Split `text` into pieces: matched added tokens (id set) and normalized text between them.
  std::vector<Piece> extract_and_normalize(const std::string& text, const Normalizer* normalizer) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  std::optional<int64_t> token_to_id(const std::string& content) const;
  /// The added token with this id, or nullptr.
  const AddedToken* find(int64_t id) const;

 private:
  // Leftmost-longest matcher over a set of patterns: candidates bucketed by first byte, longest first.
  struct Matcher {
    std::vector<std::vector<std::pair<std::string, size_t>>> by_first_byte{256};  // (pattern, token index)
    bool empty = true;
    void add(const std::string& pattern, size_t index);
    void finish();
  };
  void split(const Piece& piece, const Matcher& matcher, std::vector<Piece>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, size_t> by_content_;
  std::unordered_map<int64_t, size_t> by_id_;
  Matcher raw_, normalized_;
};

}  // namespace unl::tokenizer
