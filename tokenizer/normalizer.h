// Normalizers: the first stage of a tokenizer.json pipeline, text -> normalized text. Each variant
// is built from its JSON object; an unknown "type" is refused by name.
#pragma once

#include "tokenizer/regex.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace unl::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  /// Rewrite `text` (valid UTF-8) in place.
  virtual void normalize(std::string& text) const = 0;
};

/// Build from tokenizer.json's "normalizer" object (NFC, NFD, NFKC, NFKD, Lowercase, Prepend,
/// Replace, Strip, StripAccents, Sequence). `where` is its JSON path for errors.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where);

/// A {"String": literal} or {"Regex": pattern} object (Replace, Split) as a compiled regex.
Regex make_pattern(const nlohmann::json& j, const std::string& where);

}  // namespace unl::tokenizer
