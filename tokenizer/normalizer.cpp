// The normalizer variants of Hugging Face tokenizers (normalizers/*.rs), on plain UTF-8 strings:
// we keep no alignment to the original text because nothing downstream needs offsets.
#include "tokenizer/normalizer.h"

#include "common/error.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

#include <unicode/uchar.h>

#include <vector>

namespace unl::tokenizer {
namespace {

using nlohmann::json;

class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(unicode::Form form) : form_(form) {}
  void normalize(std::string& text) const override { text = unicode::normalize(text, form_); }

 private:
  unicode::Form form_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = unicode::lowercase(text); }
};

// Prepends only to a non-empty string (so "" stays "" and pieces between added tokens each get it).
class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    const auto matches = pattern_.find_all(text);
    if (matches.empty()) return;
    std::string out;
    out.reserve(text.size());
    size_t last = 0;
    for (const auto& [s, e] : matches) {
      out.append(text, last, s - last);
      out += content_;
      last = e;
    }
    out.append(text, last, std::string::npos);
    text.swap(out);
  }

 private:
  Regex pattern_;
  std::string content_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      size_t i = 0;
      while (i < text.size()) {
        size_t next = i;
        if (!unicode::is_whitespace(unicode::next_code_point(text, next))) break;
        i = next;
      }
      begin = i;
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t i = start;
        if (!unicode::is_whitespace(unicode::next_code_point(text, i))) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

// Removes combining marks (general category M*), as unicode-normalization's is_combining_mark.
class StripAccents : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
      const size_t start = i;
      const char32_t c = unicode::next_code_point(text, i);
      if ((U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_M_MASK) == 0) out.append(text, start, i - start);
    }
    text.swap(out);
  }
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

/// A {"String": s} or {"Regex": r} pattern object (Replace, Split).
Regex make_pattern(const json& j, const std::string& where) {
  UNL_CHECK(j.is_object() && j.size() == 1 && (j.contains("String") || j.contains("Regex")),
            where + ": expected {\"String\": ...} or {\"Regex\": ...}, got " + j.dump(),
            "the tokenizer.json does not follow the Hugging Face tokenizers format");
  if (j.contains("String")) {
    UNL_CHECK(j["String"].is_string(), where + ".String: expected a string", "fix the tokenizer.json");
    return Regex::literal(j["String"].get<std::string>(), where + ": ");
  }
  UNL_CHECK(j["Regex"].is_string(), where + ".Regex: expected a string", "fix the tokenizer.json");
  return Regex(j["Regex"].get<std::string>(), where + ": ");
}

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where) {
  const fields::NestingGuard guard(where);
  const std::string type = fields::type_of(j, where);
  if (type == "NFC") return std::make_unique<UnicodeForm>(unicode::Form::kNfc);
  if (type == "NFD") return std::make_unique<UnicodeForm>(unicode::Form::kNfd);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(unicode::Form::kNfkc);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(unicode::Form::kNfkd);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Prepend") return std::make_unique<Prepend>(fields::required_string(j, "prepend", where));
  if (type == "Replace")
    return std::make_unique<Replace>(make_pattern(fields::required(j, "pattern", where), where + ".pattern"),
                                     fields::required_string(j, "content", where));
  if (type == "Strip")
    return std::make_unique<Strip>(fields::boolean(j, "strip_left", true, where),
                                   fields::boolean(j, "strip_right", true, where));
  if (type == "Sequence") {
    const json& list = fields::required_array(j, "normalizers", where);
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(parts));
  }
  fields::unsupported("normalizer", type, where,
                      "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, StripAccents, Sequence");
}

}  // namespace unl::tokenizer
