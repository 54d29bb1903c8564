// AddedVocabulary::find_matches of tokenizers (tokenizer/added_vocabulary.rs): leftmost-longest
// matches; a match that breaks single_word is dropped (its text stays text); lstrip / rstrip
// pull the whitespace next to the token into it.
#include "tokenizer/added_vocabulary.h"

#include "common/error.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

#include <algorithm>
#include <cstring>

namespace unl::tokenizer {
namespace {

using nlohmann::json;

// The last / first character of s is a regex \w character.
bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return unicode::is_word_char(unicode::next_code_point(s, start));
}
bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  return unicode::is_word_char(unicode::next_code_point(s, i));
}
// Where the whitespace run at the end of s begins.
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    if (!unicode::is_whitespace(unicode::next_code_point(s, i))) break;
    end = start;
  }
  return end;
}
// Length of the whitespace run at the start of s.
size_t leading_space_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t next = i;
    if (!unicode::is_whitespace(unicode::next_code_point(s, next))) break;
    i = next;
  }
  return i;
}

}  // namespace

void AddedVocabulary::Matcher::add(const std::string& pattern, size_t index) {
  if (pattern.empty()) return;
  by_first_byte[static_cast<unsigned char>(pattern[0])].emplace_back(pattern, index);
  empty = false;
}

void AddedVocabulary::Matcher::finish() {
  for (auto& bucket : by_first_byte)
    std::stable_sort(bucket.begin(), bucket.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

AddedVocabulary::AddedVocabulary(const json& list, const std::string& where, const Normalizer* normalizer) {
  UNL_CHECK(list.is_array(), where + ": expected a list, got " + std::string(list.type_name()),
            "the tokenizer.json does not follow the Hugging Face tokenizers format");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json& a = list[i];
    AddedToken t;
    t.content = fields::required_string(a, "content", at);
    const json& id = fields::required(a, "id", at);
    UNL_CHECK(id.is_number_integer(), at + ".id: expected an integer, got " + id.dump(), "fix the tokenizer.json");
    t.id = id.get<int64_t>();
    t.special = fields::boolean(a, "special", false, at);
    t.single_word = fields::boolean(a, "single_word", false, at);
    t.lstrip = fields::boolean(a, "lstrip", false, at);
    t.rstrip = fields::boolean(a, "rstrip", false, at);
    t.normalized = fields::boolean(a, "normalized", !t.special, at);
    UNL_CHECK(unicode::is_valid_utf8(t.content), at + ".content is not valid UTF-8", "fix the tokenizer.json");
    if (t.content.empty()) continue;  // tokenizers ignores empty added tokens
    auto existing = by_content_.find(t.content);
    if (existing != by_content_.end()) {
      // A repeated content: the later entry replaces the earlier, as in tokenizers.
      by_id_.erase(tokens_[existing->second].id);
      tokens_[existing->second] = t;
      by_id_[t.id] = existing->second;
      continue;
    }
    UNL_CHECK(!by_id_.count(t.id), at + ": id " + std::to_string(t.id) + " is used by two added tokens",
              "each added token needs its own id");
    by_content_[t.content] = tokens_.size();
    by_id_[t.id] = tokens_.size();
    tokens_.push_back(std::move(t));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (!t.normalized) {
      raw_.add(t.content, i);
    } else {
      std::string pattern = t.content;
      if (normalizer) normalizer->normalize(pattern);
      normalized_.add(pattern, i);
    }
  }
  raw_.finish();
  normalized_.finish();
}

std::optional<int64_t> AddedVocabulary::token_to_id(const std::string& content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

const AddedToken* AddedVocabulary::find(int64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

void AddedVocabulary::split(const Piece& piece, const Matcher& matcher, std::vector<Piece>& out) const {
  const std::string& s = piece.text;
  if (matcher.empty || s.empty()) {
    if (!s.empty()) out.push_back(piece);
    return;
  }
  size_t start_offset = 0;  // end of the last emitted split
  auto emit_text = [&](size_t b, size_t e) {
    if (e <= b) return;
    Piece p;
    p.text = s.substr(b, e - b);
    p.at_start = piece.at_start && b == 0;
    out.push_back(std::move(p));
  };
  size_t pos = 0;
  while (pos < s.size()) {
    // Leftmost-longest: the first position where any pattern matches, the longest one there.
    size_t match_len = 0, token_index = 0;
    for (; pos < s.size(); ++pos) {
      const auto& bucket = matcher.by_first_byte[static_cast<unsigned char>(s[pos])];
      for (const auto& [pattern, index] : bucket) {
        if (pattern.size() <= s.size() - pos && std::memcmp(s.data() + pos, pattern.data(), pattern.size()) == 0) {
          match_len = pattern.size();
          token_index = index;
          break;
        }
      }
      if (match_len) break;
    }
    if (!match_len) break;
    size_t start = pos, stop = pos + match_len;
    pos = stop;  // the search resumes after the match even when the match is then dropped
    const AddedToken& t = tokens_[token_index];
    if (t.single_word) {
      const bool start_ok = start == 0 || !ends_with_word(std::string_view(s).substr(0, start));
      const bool stop_ok = stop == s.size() || !starts_with_word(std::string_view(s).substr(stop));
      if (!start_ok || !stop_ok) continue;
    }
    if (t.lstrip) start = std::max(trailing_space_start(std::string_view(s).substr(0, start)), start_offset);
    if (t.rstrip) stop += leading_space_length(std::string_view(s).substr(stop));
    if (start < start_offset) start = start_offset;  // never overlap what rstrip already took
    emit_text(start_offset, start);
    Piece tok;
    tok.text = s.substr(start, stop - start);
    tok.id = t.id;
    out.push_back(std::move(tok));
    start_offset = stop;
    pos = std::max(pos, stop);
  }
  emit_text(start_offset, s.size());
}

std::vector<Piece> AddedVocabulary::extract_and_normalize(const std::string& text, const Normalizer* normalizer) const {
  Piece whole;
  whole.text = text;
  whole.at_start = true;
  std::vector<Piece> first;
  split(whole, raw_, first);
  std::vector<Piece> out;
  out.reserve(first.size());
  for (auto& p : first) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    if (normalizer) normalizer->normalize(p.text);
    split(p, normalized_, out);
  }
  return out;
}

}  // namespace unl::tokenizer
