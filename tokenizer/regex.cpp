// PCRE2 behind RAII handles: one compiled code (+ JIT) per pattern, shared read-only by threads;
// match data per call. Match and depth limits keep a hostile pattern from running forever.
#include "tokenizer/regex.h"

#include "common/error.h"
#include "tokenizer/unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace unl::tokenizer {
namespace {

constexpr uint32_t kMatchLimit = 10'000'000;
constexpr uint32_t kDepthLimit = 10'000;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  bool jit = false;
  ~Code() {
    if (context) pcre2_match_context_free(context);
    if (code) pcre2_code_free(code);
  }
};

std::string onig_to_pcre2(const std::string& p) {
  std::string out;
  out.reserve(p.size() + 16);
  int class_depth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      const bool in_class = class_depth > 0;
      ++i;
      switch (e) {
        case 's': out += "\\p{White_Space}"; break;
        case 'S': out += "\\P{White_Space}"; break;
        case 'd': out += "\\p{Nd}"; break;
        case 'D': out += "\\P{Nd}"; break;
        case 'h': out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]"; break;
        case 'H': out += in_class ? "\\x{0}-/:-@G-`g-\\x{10FFFF}" : "[^0-9A-Fa-f]"; break;
        case 'w':
          out += in_class ? "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
                          : "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
          break;
        case 'W':
          // Inside a class PCRE2 cannot nest a negated union; its own \W (not L, N or _) is the
          // closest and differs only on marks and connector punctuation.
          out += in_class ? "\\W" : "[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
          break;
        default:
          out += '\\';
          out += e;
      }
      continue;
    }
    if (c == '[') {
      // POSIX bracket "[:alpha:]" inside a class is not a nested class.
      if (class_depth > 0 && i + 1 < p.size() && p[i + 1] == ':') {
        const size_t end = p.find(":]", i + 2);
        if (end != std::string::npos) {
          out.append(p, i, end + 2 - i);
          i = end + 1;
          continue;
        }
      }
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Regex::Regex(const std::string& pattern, const std::string& where) : source_(pattern) {
  compile(onig_to_pcre2(pattern), where);
}

Regex Regex::literal(const std::string& literal, const std::string& where) {
  Regex r;
  r.source_ = literal;
  std::string quoted;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) != std::string_view::npos) quoted += '\\';
    quoted += c;
  }
  r.compile(quoted, where);
  return r;
}

void Regex::compile(const std::string& pcre_pattern, const std::string& where) {
  UNL_CHECK(unicode::is_valid_utf8(pcre_pattern), where + "the pattern is not valid UTF-8",
            "fix the tokenizer.json pattern");
  int err = 0;
  PCRE2_SIZE offset = 0;
  code_ = std::make_unique<Code>();
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre_pattern.data()), pcre_pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
  UNL_CHECK(code_->code, where + "regex '" + source_ + "' does not compile: " + pcre2_message(err) +
                             " (at offset " + std::to_string(offset) + " of '" + pcre_pattern + "')",
            "tokenizer.json regexes use Oniguruma syntax; this construct is not supported by PCRE2");
  code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
  code_->context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(code_->context, kMatchLimit);
  pcre2_set_depth_limit(code_->context, kDepthLimit);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(pcre2_match_data_create_from_pattern(code_->code, nullptr));
  UNL_CHECK(md, "out of memory for a regex match", "");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    const int rc = code_->jit
                       ? pcre2_jit_match(code_->code, subject, text.size(), start, 0, md.get(), code_->context)
                       : pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, md.get(),
                                     code_->context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    UNL_CHECK(rc >= 0, "regex '" + source_ + "' failed on a text of " + std::to_string(text.size()) +
                           " bytes: " + pcre2_message(rc),
              "the tokenizer's pattern backtracks too much on this input; split the text or fix the pattern");
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const size_t s = ov[0], e = ov[1];
    if (e > s) {
      out.emplace_back(s, e);
      start = e;
    } else {
      // An empty match splits nothing; step over one character and search again.
      if (s >= text.size()) break;
      start = s + unicode::utf8_length(static_cast<unsigned char>(text[s]));
    }
  }
  return out;
}

}  // namespace unl::tokenizer
