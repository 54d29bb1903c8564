// WordPiece as transformers' tokenization_bert.py: BasicTokenizer character classes from ICU
// (Python's unicodedata categories), NFC/NFD from ICU's Normalizer2, lower-casing as Python's
// str.lower() (ICU root locale), then greedy longest-match-first over the vocabulary.
#include "tokenizer/wordpiece.h"

#include <nlohmann/json.hpp>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/error.h"

namespace unl::tokenizer {
namespace {

using icu::UnicodeString;

std::string utf8(const UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

bool category_is(UChar32 c, uint32_t mask) { return (U_GET_GC_MASK(c) & mask) != 0; }

bool is_whitespace(UChar32 c) {  // _is_whitespace
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(c) == U_SPACE_SEPARATOR;
}
bool is_control(UChar32 c) {  // _is_control: category C* except \t \n \r
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return category_is(c, U_GC_C_MASK);
}
bool is_punctuation(UChar32 c) {  // _is_punctuation: ASCII non-alphanumerics, or category P*
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return true;
  return category_is(c, U_GC_P_MASK);
}
bool is_chinese_char(UChar32 c) {  // _is_chinese_char: the CJK Unified Ideographs blocks
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) ||
         (c >= 0x2B820 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Python's str.isspace(): what str.split() separates on.
const icu::UnicodeSet& python_space() {
  static const icu::UnicodeSet* set = [] {
    UErrorCode status = U_ZERO_ERROR;
    auto* s = new icu::UnicodeSet(
        UnicodeString(u"[\\p{Bidi_Class=WS}\\p{Bidi_Class=B}\\p{Bidi_Class=S}\\p{Zs}]"), status);
    UNL_CHECK(U_SUCCESS(status), "ICU rejected the whitespace set", "this is a bug in tokenizer/wordpiece.cpp");
    s->freeze();
    return s;
  }();
  return *set;
}

/// whitespace_tokenize: Python's text.strip().split().
std::vector<UnicodeString> split_whitespace(const UnicodeString& s) {
  std::vector<UnicodeString> out;
  const auto& space = python_space();
  int32_t i = 0;
  while (i < s.length()) {
    if (space.contains(s.char32At(i))) {
      i = s.moveIndex32(i, 1);
      continue;
    }
    int32_t j = i;
    while (j < s.length() && !space.contains(s.char32At(j))) j = s.moveIndex32(j, 1);
    out.emplace_back(s, i, j - i);
    i = j;
  }
  return out;
}

UnicodeString normalize(const UnicodeString& s, bool nfc) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nfc ? icu::Normalizer2::getNFCInstance(status)
                                  : icu::Normalizer2::getNFDInstance(status);
  UNL_CHECK(U_SUCCESS(status), "ICU normalizer unavailable", "check the ICU installation");
  UnicodeString out = n->normalize(s, status);
  UNL_CHECK(U_SUCCESS(status), std::string("ICU normalization failed: ") + u_errorName(status),
            "the text may contain invalid characters");
  return out;
}

/// _run_strip_accents: NFD, then drop non-spacing marks (category Mn).
UnicodeString strip_accents(const UnicodeString& s) {
  const UnicodeString d = normalize(s, false);
  UnicodeString out;
  for (int32_t i = 0; i < d.length(); i = d.moveIndex32(i, 1)) {
    const UChar32 c = d.char32At(i);
    if (u_charType(c) != U_NON_SPACING_MARK) out.append(c);
  }
  return out;
}

/// _run_split_on_punc: every punctuation character is a word of its own.
void split_on_punctuation(const UnicodeString& s, std::vector<std::string>& out) {
  UnicodeString word;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    if (is_punctuation(c)) {
      if (!word.isEmpty()) out.push_back(utf8(word));
      word.remove();
      out.push_back(utf8(UnicodeString(c)));
    } else {
      word.append(c);
    }
  }
  if (!word.isEmpty()) out.push_back(utf8(word));
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : options_(std::move(options)), vocab_(std::move(vocab)) {
  UNL_CHECK(!vocab_.empty(), "the WordPiece vocabulary is empty", "pass the model's vocab.txt");
  for (size_t i = 0; i < vocab_.size(); ++i) ids_[vocab_[i]] = static_cast<int64_t>(i);  // last wins
  auto required = [&](const std::string& token, const char* role) {
    auto it = ids_.find(token);
    UNL_CHECK(it != ids_.end(), std::string("the WordPiece vocabulary has no ") + role + " token '" + token + "'",
              "use the vocab.txt that belongs to the model (or set the token in tokenizer_config.json)");
    return it->second;
  };
  unk_id_ = required(options_.unk_token, "unknown");
  cls_id_ = required(options_.cls_token, "[CLS]");
  sep_id_ = required(options_.sep_token, "[SEP]");
  auto pad = ids_.find(options_.pad_token);
  pad_id_ = pad == ids_.end() ? -1 : pad->second;
  UNL_CHECK(options_.max_input_chars_per_word > 0 && options_.model_max_length >= 2,
            "WordPiece options out of range (max_input_chars_per_word > 0, model_max_length >= 2 needed)",
            "fix tokenizer_config.json");
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, WordPieceOptions options) {
  std::ifstream in(path, std::ios::binary);
  UNL_CHECK(in.good(), "cannot read the WordPiece vocabulary " + path,
            "a BERT model directory holds vocab.txt next to config.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<std::string> vocab;
  // Python's readlines() in text mode: universal newlines; a last line without "\n" counts.
  std::string line;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      vocab.push_back(line);
      line.clear();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      line += c;
    }
  }
  if (!line.empty()) vocab.push_back(line);
  UNL_CHECK(!vocab.empty(), path + " holds no tokens", "use the model's vocab.txt (one token per line)");
  return WordPieceTokenizer(std::move(vocab), std::move(options));
}

WordPieceTokenizer WordPieceTokenizer::from_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  WordPieceOptions o;
  const fs::path config = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(config)) {
    std::ifstream in(config);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      UNL_THROW(config.string() + " is not valid JSON (" + e.what() + ")", "fix or remove tokenizer_config.json");
    }
    UNL_CHECK(j.is_object(), config.string() + " is not a JSON object", "fix or remove tokenizer_config.json");
    auto flag = [&](const char* key, bool& out) {
      if (!j.contains(key) || j[key].is_null()) return;
      UNL_CHECK(j[key].is_boolean(), config.string() + ": '" + key + "' must be true or false",
                "fix tokenizer_config.json");
      out = j[key].get<bool>();
    };
    flag("do_lower_case", o.do_lower_case);
    flag("tokenize_chinese_chars", o.tokenize_chinese_chars);
    if (j.contains("strip_accents") && !j["strip_accents"].is_null()) {
      bool strip = false;
      flag("strip_accents", strip);
      o.strip_accents = strip ? 1 : 0;
    }
    // Very large values mean "no limit" in HF (int(1e30)); keep 512, BERT's position limit, then.
    if (j.contains("model_max_length") && j["model_max_length"].is_number_integer()) {
      const int64_t m = j["model_max_length"].get<int64_t>();
      if (m >= 2 && m <= (int64_t{1} << 20)) o.model_max_length = m;
    }
    auto token = [&](const char* key, std::string& out) {  // a string, or an AddedToken object
      if (!j.contains(key) || j[key].is_null()) return;
      const auto& v = j[key];
      if (v.is_string()) out = v.get<std::string>();
      else if (v.is_object() && v.contains("content") && v["content"].is_string()) out = v["content"].get<std::string>();
      else UNL_THROW(config.string() + ": '" + key + "' must be a string or {\"content\": ...}", "fix tokenizer_config.json");
    };
    token("unk_token", o.unk_token);
    token("cls_token", o.cls_token);
    token("sep_token", o.sep_token);
    token("pad_token", o.pad_token);
    token("mask_token", o.mask_token);
  }
  return from_vocab_file((fs::path(dir) / "vocab.txt").string(), o);
}

bool WordPieceTokenizer::is_special(const std::string& t) const {
  return t == options_.unk_token || t == options_.cls_token || t == options_.sep_token ||
         t == options_.pad_token || t == options_.mask_token;
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(const std::string& text) const {
  // PreTrainedTokenizer.tokenize first cuts the text at special tokens (exact, case-sensitive);
  // BasicTokenizer then never splits them.
  std::vector<std::string> specials = {options_.unk_token, options_.sep_token, options_.pad_token,
                                       options_.cls_token, options_.mask_token};
  std::sort(specials.begin(), specials.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<std::string> out;
  auto basic = [&](const std::string& chunk) {
    UnicodeString cleaned;  // _clean_text + _tokenize_chinese_chars
    const UnicodeString in = UnicodeString::fromUTF8(chunk);
    for (int32_t i = 0; i < in.length(); i = in.moveIndex32(i, 1)) {
      const UChar32 c = in.char32At(i);
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_whitespace(c)) {
        cleaned.append(UChar32(' '));
      } else if (options_.tokenize_chinese_chars && is_chinese_char(c)) {
        cleaned.append(UChar32(' ')).append(c).append(UChar32(' '));
      } else {
        cleaned.append(c);
      }
    }
    const bool strip = options_.strip_accents == 1 || (options_.strip_accents == -1 && options_.do_lower_case);
    for (UnicodeString word : split_whitespace(normalize(cleaned, true))) {
      if (is_special(utf8(word))) {
        out.push_back(utf8(word));
        continue;
      }
      if (options_.do_lower_case) word.toLower(icu::Locale::getRoot());
      if (strip) word = strip_accents(word);
      split_on_punctuation(word, out);
    }
  };
  size_t start = 0, pos = 0;
  while (pos < text.size()) {
    const std::string* hit = nullptr;
    for (const auto& s : specials)
      if (!s.empty() && text.compare(pos, s.size(), s) == 0) {
        hit = &s;
        break;
      }
    if (!hit) {
      ++pos;
      continue;
    }
    basic(text.substr(start, pos - start));
    out.push_back(*hit);
    pos += hit->size();
    start = pos;
  }
  basic(text.substr(start));
  return out;
}

void WordPieceTokenizer::wordpiece(const std::string& word, std::vector<std::string>& out) const {
  const UnicodeString w = UnicodeString::fromUTF8(word);
  std::vector<int32_t> bounds;  // code point boundaries (Python indexes characters)
  for (int32_t i = 0; i < w.length(); i = w.moveIndex32(i, 1)) bounds.push_back(i);
  bounds.push_back(w.length());
  const size_t chars = bounds.size() - 1;
  if (static_cast<int64_t>(chars) > options_.max_input_chars_per_word) {
    out.push_back(options_.unk_token);
    return;
  }
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < chars) {
    size_t end = chars;
    std::string found;
    for (; end > start; --end) {
      std::string sub = utf8(UnicodeString(w, bounds[start], bounds[end] - bounds[start]));
      if (start > 0) sub = options_.continuing_subword_prefix + sub;
      if (ids_.count(sub)) {
        found = std::move(sub);
        break;
      }
    }
    if (end == start) {  // no piece covers the next character: the whole word is unknown
      out.push_back(options_.unk_token);
      return;
    }
    pieces.push_back(std::move(found));
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (const auto& word : basic_tokenize(text)) {
    if (is_special(word)) out.push_back(word);
    else wordpiece(word, out);
  }
  return out;
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text, bool add_special_tokens,
                                                int64_t max_length) const {
  if (max_length <= 0) max_length = options_.model_max_length;
  const int64_t room = add_special_tokens ? max_length - 2 : max_length;
  UNL_CHECK(room >= 0, "max_length " + std::to_string(max_length) + " leaves no room for [CLS] and [SEP]",
            "use a max_length of 2 or more");
  std::vector<int64_t> ids;
  if (add_special_tokens) ids.push_back(cls_id_);
  for (const auto& piece : tokenize(text)) {
    if (static_cast<int64_t>(ids.size()) - (add_special_tokens ? 1 : 0) >= room) break;
    ids.push_back(token_to_id(piece));
  }
  if (add_special_tokens) ids.push_back(sep_id_);
  return ids;
}

int64_t WordPieceTokenizer::token_to_id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? unk_id_ : it->second;
}

const std::string& WordPieceTokenizer::id_to_token(int64_t id) const {
  UNL_CHECK(id >= 0 && id < vocab_size(),
            "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab_size()),
            "the ids must come from this tokenizer's vocab.txt");
  return vocab_[id];
}

}  // namespace unl::tokenizer
