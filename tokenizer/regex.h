// A compiled PCRE2 regular expression (UTF, Unicode properties, JIT) with the find-all loop the
// pre-tokenizers and Replace need. Patterns written for Oniguruma (what tokenizer.json files
// assume) are rewritten where the two dialects differ: \s, \w, \d and \h mean Unicode
// White_Space, word, decimal digit and hex digit there.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace unl::tokenizer {

class Regex {
 public:
  /// Compile an Oniguruma-style pattern. `where` names the tokenizer.json field for errors.
  Regex(const std::string& pattern, const std::string& where);
  /// A pattern matching `literal` exactly.
  static Regex literal(const std::string& literal, const std::string& where);

  /// Every non-empty, non-overlapping match, leftmost first, as [start, end) byte offsets.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  const std::string& pattern() const { return source_; }

  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

 private:
  Regex() = default;
  void compile(const std::string& pcre_pattern, const std::string& where);
  struct Code;
  std::string source_;
  std::unique_ptr<Code> code_;
};

/// Oniguruma escapes rewritten to PCRE2 with the same meaning (exposed for tests).
std::string onig_to_pcre2(const std::string& pattern);

}  // namespace unl::tokenizer
