// NLTK 3.8 word_tokenize() ported with ICU: Punkt sentence splitting with empty learned parameters
// (nltk/tokenize/punkt.py) and NLTKWordTokenizer's regex substitutions (nltk/tokenize/destructive.py),
// with Python `re` character classes spelled out as ICU sets. Indices are UTF-16 offsets throughout.
#include "unlearn/nltk_tokenize.h"

#include <unicode/locid.h>
#include <unicode/regex.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>

#include <memory>
#include <utility>

#include "common/error.h"

namespace unl::unlearn {
namespace {

using icu::UnicodeString;

// Python's `re` classes on str. \w: str.isalnum() (letters, and everything with a numeric type)
// or "_"; \s: str.isspace() (bidi WS/B/S or Zs); \d: decimal digits. ICU's \w \s \b differ
// (marks, connector punctuation, U+001C..U+001F), so the sets are written out.
const std::string kWordIn =
    "\\p{L}\\p{Numeric_Type=Decimal}\\p{Numeric_Type=Digit}\\p{Numeric_Type=Numeric}_";
const std::string kSpaceIn = "\\p{Bidi_Class=WS}\\p{Bidi_Class=B}\\p{Bidi_Class=S}\\p{Zs}";
const std::string kDigitIn = "\\p{Numeric_Type=Decimal}";
const std::string W = "[" + kWordIn + "]";
const std::string S = "[" + kSpaceIn + "]";
const std::string NS = "[^" + kSpaceIn + "]";
const std::string B = "(?:(?<=" + W + ")(?!" + W + ")|(?<!" + W + ")(?=" + W + "))";  // Python \b

const icu::UnicodeSet& frozen_set(const std::string& pattern) {
  UErrorCode status = U_ZERO_ERROR;
  auto* set = new icu::UnicodeSet(UnicodeString::fromUTF8(pattern), status);
  UNL_CHECK(U_SUCCESS(status), "ICU rejected the character set " + pattern + ": " + u_errorName(status),
            "this is a bug in unlearn/nltk_tokenize.cpp");
  set->freeze();
  return *set;  // lives for the program (function-local statics below)
}

const icu::UnicodeSet& word_set() { static const auto& s = frozen_set(W); return s; }
const icu::UnicodeSet& space_set() { static const auto& s = frozen_set(S); return s; }
const icu::UnicodeSet& digit_set() { static const auto& s = frozen_set("[" + kDigitIn + "]"); return s; }
const icu::UnicodeSet& upper_set() { static const auto& s = frozen_set("[\\p{Uppercase}]"); return s; }
const icu::UnicodeSet& lower_set() { static const auto& s = frozen_set("[\\p{Lowercase}]"); return s; }

std::unique_ptr<icu::RegexPattern> compile(const std::string& pattern, bool ignore_case = false) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError where;
  // UNIX_LINES: only "\n" ends a line for $ (Python's rule; ICU also counts \r, U+2028, ...).
  uint32_t flags = UREGEX_UNIX_LINES | (ignore_case ? UREGEX_CASE_INSENSITIVE : 0);
  std::unique_ptr<icu::RegexPattern> p(
      icu::RegexPattern::compile(UnicodeString::fromUTF8(pattern), flags, where, status));
  UNL_CHECK(U_SUCCESS(status), "ICU rejected the regex " + pattern + ": " + u_errorName(status),
            "this is a bug in unlearn/nltk_tokenize.cpp");
  return p;
}

struct Rule {
  std::unique_ptr<icu::RegexPattern> pattern;
  UnicodeString replacement;  // ICU syntax: $1, $0
};

Rule rule(const std::string& pattern, const std::string& replacement, bool ignore_case = false) {
  return {compile(pattern, ignore_case), UnicodeString::fromUTF8(replacement)};
}

/// NLTKWordTokenizer's substitutions in its order (STARTING_QUOTES, PUNCTUATION, PARENS_BRACKETS,
/// DOUBLE_DASHES, then " " + text + " ", ENDING_QUOTES, CONTRACTIONS2, CONTRACTIONS3).
struct TreebankRules {
  std::vector<Rule> before_padding, after_padding;
  TreebankRules() {
    auto& a = before_padding;
    // STARTING_QUOTES
    a.push_back(rule("([«“‘„]|[`]+)", " $1 "));
    a.push_back(rule("^\"", "``"));
    a.push_back(rule("(``)", " $1 "));
    a.push_back(rule("([ \\(\\[\\{<])(\"|'{2})", "$1 `` "));
    a.push_back(rule("(')(?!re|ve|ll|m|t|s|d|n)(" + W + ")" + B, "$1 $2", true));
    // PUNCTUATION
    a.push_back(rule("([^\\.])(\\.)([\\]\\)\\}>\"'»”’ ]*)" + S + "*$", "$1 $2 $3 "));
    a.push_back(rule("([:,])([^" + kDigitIn + "])", " $1 $2"));
    a.push_back(rule("([:,])$", " $1 "));
    a.push_back(rule("\\.{2,}", " $0 "));
    a.push_back(rule("[;@#\\$%\\&]", " $0 "));
    a.push_back(rule("([^\\.])(\\.)([\\]\\)\\}>\"']*)" + S + "*$", "$1 $2$3 "));
    a.push_back(rule("[?!]", " $0 "));
    a.push_back(rule("([^'])' ", "$1 ' "));
    a.push_back(rule("[*]", " $0 "));
    // PARENS_BRACKETS, DOUBLE_DASHES
    a.push_back(rule("[\\]\\[\\(\\)\\{\\}<>]", " $0 "));
    a.push_back(rule("--", " -- "));
    auto& b = after_padding;
    // ENDING_QUOTES
    b.push_back(rule("([»”’])", " $1 "));
    b.push_back(rule("''", " '' "));
    b.push_back(rule("\"", " '' "));
    b.push_back(rule("([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "));
    b.push_back(rule("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "));
    // CONTRACTIONS2, CONTRACTIONS3 (case-insensitive)
    for (const char* c : {"(can)(not)", "(d)('ye)", "(gim)(me)", "(gon)(na)", "(got)(ta)",
                          "(lem)(me)", "(more)('n)"})
      b.push_back(rule(B + c + B, " $1 $2 ", true));
    b.push_back(rule(B + "(wan)(na)(?=" + S + ")", " $1 $2 ", true));
    b.push_back(rule(" ('t)(is)" + B, " $1 $2 ", true));
    b.push_back(rule(" ('t)(was)" + B, " $1 $2 ", true));
  }
};

const TreebankRules& treebank_rules() {
  static const TreebankRules rules;
  return rules;
}

UnicodeString apply(const Rule& r, const UnicodeString& text) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> m(r.pattern->matcher(text, status));
  UnicodeString out = m->replaceAll(r.replacement, status);
  UNL_CHECK(U_SUCCESS(status), std::string("regex substitution failed: ") + u_errorName(status),
            "this is a bug in unlearn/nltk_tokenize.cpp");
  return out;
}

std::string utf8(const UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

bool is_space_at(const UnicodeString& s, int32_t i) { return space_set().contains(s.char32At(i)); }

/// Python's str.split(): runs of str.isspace() characters separate tokens.
std::vector<UnicodeString> python_split(const UnicodeString& s) {
  std::vector<UnicodeString> out;
  int32_t i = 0, n = s.length();
  while (i < n) {
    while (i < n && is_space_at(s, i)) i = s.moveIndex32(i, 1);
    if (i >= n) break;
    int32_t j = i;
    while (j < n && !is_space_at(s, j)) j = s.moveIndex32(j, 1);
    out.push_back(UnicodeString(s, i, j - i));
    i = j;
  }
  return out;
}

std::vector<UnicodeString> treebank(const UnicodeString& sentence) {
  const auto& rules = treebank_rules();
  UnicodeString text = sentence;
  for (const auto& r : rules.before_padding) text = apply(r, text);
  text = UnicodeString(u" ") + text + UnicodeString(u" ");
  for (const auto& r : rules.after_padding) text = apply(r, text);
  return python_split(text);
}

}  // namespace

namespace detail {
bool py_is_word(int32_t cp) { return word_set().contains(cp); }
bool py_is_space(int32_t cp) { return space_set().contains(cp); }
bool py_is_digit(int32_t cp) { return digit_set().contains(cp); }
bool py_is_upper(int32_t cp) { return upper_set().contains(cp); }
bool py_is_lower(int32_t cp) { return lower_set().contains(cp); }
}  // namespace detail

// ----- Punkt (PunktSentenceTokenizer with default PunktParameters) ----------------------------

namespace {

/// PunktLanguageVars: its word tokenizer regex, and the NUMERIC / realignment patterns.
struct PunktRegexes {
  std::unique_ptr<icu::RegexPattern> words, numeric;
  PunktRegexes() {
    const std::string multi = "(?:\\-{2,}|\\.{2,}|(?:\\." + S + "){2,}\\.)";
    const std::string non_word = "(?:[\\)\";\\}\\]\\*:@'\\(\\{\\[\\?!])";
    const std::string word_start = "[^\\(\"`\\{\\[:;\\&\\#\\*@\\)\\}\\]\\-,]";
    words = compile(multi + "|(?=" + word_start + ")" + NS + "+?(?=" + S + "|$|" + non_word + "|" +
                    multi + "|,(?=$|" + S + "|" + non_word + "|" + multi + "))|" + NS);
    numeric = compile("-?[\\.,]?[" + kDigitIn + "][" + kDigitIn + ",\\.\\-]*\\.?");
  }
};

const PunktRegexes& punkt_regexes() {
  static const PunktRegexes r;
  return r;
}

bool is_non_word_char(UChar c) {  // PunktLanguageVars._re_non_word_chars
  return UnicodeString(u")\";}]*:@'({[?!").indexOf(c) >= 0;
}

UnicodeString slice(const UnicodeString& s, int32_t begin, int32_t end) {  // Python s[begin:end]
  if (end <= begin) return UnicodeString();
  return UnicodeString(s, begin, end - begin);
}

struct PunktToken {
  UnicodeString tok;
  bool sentbreak = false;
};

std::vector<PunktToken> punkt_word_tokens(const UnicodeString& text) {  // _tokenize_words
  std::vector<PunktToken> out;
  int32_t start = 0;
  while (start <= text.length()) {
    int32_t nl = text.indexOf(u'\n', start);
    if (nl < 0) nl = text.length();
    const UnicodeString line = slice(text, start, nl);
    bool blank = true;
    for (int32_t i = 0; i < line.length() && blank; i = line.moveIndex32(i, 1)) blank = is_space_at(line, i);
    if (!blank) {
      UErrorCode status = U_ZERO_ERROR;
      std::unique_ptr<icu::RegexMatcher> m(punkt_regexes().words->matcher(line, status));
      while (m->find(status)) out.push_back({m->group(status), false});
      UNL_CHECK(U_SUCCESS(status), std::string("Punkt word regex failed: ") + u_errorName(status),
                "this is a bug in unlearn/nltk_tokenize.cpp");
    }
    start = nl + 1;
  }
  return out;
}

bool ends_with(const UnicodeString& s, const char16_t* suffix) {
  return s.endsWith(UnicodeString(suffix));
}

/// PunktToken.type_no_period == "##number##": the lower-cased token is a number (a final period
/// is part of the NUMERIC pattern), or literally "##number##" / "##number##.".
bool type_is_number(const UnicodeString& tok) {
  UnicodeString lower = tok;
  lower.toLower(icu::Locale::getRoot());
  if (lower == UnicodeString(u"##number##") || lower == UnicodeString(u"##number##.")) return true;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> m(punkt_regexes().numeric->matcher(lower, status));
  return m->matches(status) && U_SUCCESS(status);
}

bool is_initial(const UnicodeString& tok) {  // [^\W\d]\.$
  if (tok.countChar32() != 2 || !ends_with(tok, u".")) return false;
  const UChar32 c = tok.char32At(0);
  return word_set().contains(c) && !digit_set().contains(c);
}

bool is_ellipsis(const UnicodeString& tok) {  // \.\.+$
  if (tok.length() < 2) return false;
  for (int32_t i = 0; i < tok.length(); ++i)
    if (tok.charAt(i) != u'.') return false;
  return true;
}

/// The two passes of annotation. With empty parameters no token is an abbreviation, the
/// collocation and sentence-starter heuristics never fire, and the orthographic heuristic says
/// "not a sentence starter" for punctuation and lower-case words and "unknown" otherwise.
void annotate(std::vector<PunktToken>& toks) {
  for (auto& t : toks) {  // first pass
    if (t.tok == UnicodeString(u".") || t.tok == UnicodeString(u"?") || t.tok == UnicodeString(u"!"))
      t.sentbreak = true;
    else if (is_ellipsis(t.tok))
      continue;  // an ellipsis; only a trained model can make it a break
    else if (ends_with(t.tok, u".") && !ends_with(t.tok, u".."))
      t.sentbreak = true;  // not a known abbreviation: none are known
  }
  for (size_t i = 0; i + 1 < toks.size(); ++i) {  // second pass over (token, next token)
    auto& t1 = toks[i];
    const auto& t2 = toks[i + 1].tok;
    if (!ends_with(t1.tok, u".")) continue;
    const bool initial = is_initial(t1.tok);
    if (!initial && !type_is_number(t1.tok)) continue;
    const bool punct = UnicodeString(u";:,.!?").indexOf(t2) >= 0 && t2.length() == 1;
    const UChar32 first = t2.char32At(0);
    const bool not_starter = punct || lower_set().contains(first);  // ortho heuristic == False
    if (not_starter || (initial && upper_set().contains(first))) t1.sentbreak = false;
  }
}

bool text_contains_sentbreak(const UnicodeString& text) {
  auto toks = punkt_word_tokens(text);
  annotate(toks);
  for (size_t i = 0; i + 1 < toks.size(); ++i)
    if (toks[i].sentbreak) return true;  // a break followed by another token
  return false;
}

struct EndContext {
  int32_t end;             // after the sentence-end character
  int32_t next_tok_start;  // -1 when the character is followed by punctuation, not a token
  UnicodeString context;   // previous word + the character + what follows it
};

/// _match_potential_end_contexts: every ".?!" followed by non-word punctuation or by whitespace
/// and a token, with the word before it; candidates whose words overlap are merged (NLTK's
/// ReDoS-safe rewrite keeps only the last of them).
std::vector<EndContext> potential_ends(const UnicodeString& text) {
  std::vector<EndContext> out;
  const int32_t n = text.length();
  int32_t prev_begin = 0, prev_end = 0;  // previous_slice
  bool have_prev = false;
  int32_t prev_match = 0, prev_after_end = 0, prev_next = -1;
  auto emit = [&] {
    out.push_back({prev_match + 1, prev_next,
                   slice(text, prev_begin, prev_end) + slice(text, prev_match, prev_after_end)});
  };
  for (int32_t i = 0; i < n; ++i) {
    const UChar c = text.charAt(i);
    if (c != u'.' && c != u'?' && c != u'!') continue;
    int32_t after_end = -1, next = -1;
    if (i + 1 < n && is_non_word_char(text.charAt(i + 1))) {
      after_end = i + 2;
    } else {
      int32_t k = i + 1;
      while (k < n && is_space_at(text, k)) k = text.moveIndex32(k, 1);
      if (k > i + 1 && k < n) {
        next = k;
        while (k < n && !is_space_at(text, k)) k = text.moveIndex32(k, 1);
        after_end = k;
      }
    }
    if (after_end < 0) continue;
    // The word before: after the last ASCII whitespace since the previous candidate.
    int32_t last_ws = 0;
    for (int32_t k = i - 1; k >= prev_end; --k)
      if (UnicodeString(u" \t\n\r\x0b\x0c").indexOf(text.charAt(k)) >= 0) {
        last_ws = k - prev_end;
        break;
      }
    const int32_t word_begin = last_ws ? last_ws + prev_end + 1 : prev_begin;
    if (have_prev && prev_end <= word_begin) emit();
    have_prev = true;
    prev_match = i, prev_after_end = after_end, prev_next = next;
    prev_begin = word_begin, prev_end = i;
  }
  if (have_prev) emit();
  return out;
}

int32_t rstripped_length(const UnicodeString& s) {
  int32_t n = s.length();
  while (n > 0) {
    const int32_t prev = s.moveIndex32(n, -1);
    if (!is_space_at(s, prev)) break;
    n = prev;
  }
  return n;
}

/// The realignment regex ["')\]}]+?(?:\s+|(?=--)|$) matched at the start of `s`: the length of
/// its closing-punctuation part and of the whole match, or {-1, -1}.
std::pair<int32_t, int32_t> boundary_realignment(const UnicodeString& s) {
  const UnicodeString closing(u"\"')]}");
  for (int32_t j = 1; j <= s.length() && closing.indexOf(s.charAt(j - 1)) >= 0; ++j) {
    if (j < s.length() && is_space_at(s, j)) {
      int32_t k = j;
      while (k < s.length() && is_space_at(s, k)) k = s.moveIndex32(k, 1);
      return {j, k};
    }
    if (j == s.length() || s.charAt(j) == u'\n' || slice(s, j, j + 2) == UnicodeString(u"--"))
      return {j, j};
  }
  return {-1, -1};
}

}  // namespace

namespace detail {

std::vector<std::string> punkt_sentences(const std::string& text_utf8) {
  const UnicodeString text = UnicodeString::fromUTF8(text_utf8);
  std::vector<std::pair<int32_t, int32_t>> slices;  // _slices_from_text
  int32_t last_break = 0;
  for (const auto& e : potential_ends(text)) {
    if (!text_contains_sentbreak(e.context)) continue;
    slices.emplace_back(last_break, e.end);
    last_break = e.next_tok_start >= 0 ? e.next_tok_start : e.end;
  }
  slices.emplace_back(last_break, rstripped_length(text));
  std::vector<std::string> out;  // _realign_boundaries
  int32_t realign = 0;
  for (size_t k = 0; k < slices.size(); ++k) {
    const int32_t begin = slices[k].first + realign, end = slices[k].second;
    if (k + 1 == slices.size()) {
      if (end > begin) out.push_back(utf8(slice(text, begin, end)));
      continue;
    }
    const auto [closing, whole] = boundary_realignment(slice(text, slices[k + 1].first, slices[k + 1].second));
    if (closing >= 0) {
      out.push_back(utf8(slice(text, begin, slices[k + 1].first + closing)));
      realign = whole;
    } else {
      realign = 0;
      if (end > begin) out.push_back(utf8(slice(text, begin, end)));
    }
  }
  return out;
}

std::vector<std::string> treebank_tokenize(const std::string& sentence) {
  std::vector<std::string> out;
  for (const auto& t : treebank(UnicodeString::fromUTF8(sentence))) out.push_back(utf8(t));
  return out;
}

}  // namespace detail

std::string python_lower(const std::string& text) {
  UnicodeString s = UnicodeString::fromUTF8(text);
  s.toLower(icu::Locale::getRoot());
  return utf8(s);
}

std::vector<std::string> nltk_word_tokenize(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& sentence : detail::punkt_sentences(text))
    for (const auto& t : treebank(UnicodeString::fromUTF8(sentence))) out.push_back(utf8(t));
  return out;
}

}  // namespace unl::unlearn
