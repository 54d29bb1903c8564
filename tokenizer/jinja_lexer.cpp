// Jinja2's lexer rules as transformers configures them (trim_blocks, lstrip_blocks, no trailing
// newline): text, {{ }}, {% %} and {# #} with '-' whitespace control, and the tokens inside tags.
#include "common/error.h"
#include "tokenizer/jinja_ast.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace unl::tokenizer::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python string-literal escapes (the subset templates use).
std::string unescape(const std::string& body, int line, const std::string& where) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      out += body[i];
      continue;
    }
    const char e = body[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '0': out += '\0'; break;
      case '\\': case '\'': case '"': out += e; break;
      case '\n': break;
      case 'u': case 'x': {
        const size_t n = e == 'u' ? 4 : 2;
        UNL_CHECK(i + n < body.size(), where + "line " + std::to_string(line) + ": bad \\" + e + " escape",
                  "fix the string literal in the chat template");
        const unsigned long cp = std::strtoul(body.substr(i + 1, n).c_str(), nullptr, 16);
        i += n;
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) out += static_cast<char>(0xC0 | (cp >> 6)), out += static_cast<char>(0x80 | (cp & 0x3F));
        else out += static_cast<char>(0xE0 | (cp >> 12)), out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), out += static_cast<char>(0x80 | (cp & 0x3F));
        break;
      }
      default: out += '\\'; out += e;  // Python keeps unknown escapes as written
    }
  }
  return out;
}

}  // namespace

std::vector<Token> lex(const std::string& input, const std::string& where) {
  std::string src = input;
  if (!src.empty() && src.back() == '\n') src.pop_back();  // keep_trailing_newline=False
  if (!src.empty() && src.back() == '\r') src.pop_back();
  std::vector<Token> out;
  int line = 1;
  size_t pos = 0;
  bool strip_next_text = false;  // a '-' closed the last tag
  bool trim_next_newline = false;  // trim_blocks after %} or #}
  auto count_lines = [&](size_t from, size_t to) {
    for (size_t k = from; k < to && k < src.size(); ++k) line += src[k] == '\n';
  };
  while (pos <= src.size()) {
    size_t open = src.find('{', pos);
    while (open != std::string::npos && open + 1 < src.size() && std::strchr("{%#", src[open + 1]) == nullptr)
      open = src.find('{', open + 1);
    if (open != std::string::npos && open + 1 >= src.size()) open = std::string::npos;
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    const int text_line = line;
    count_lines(pos, open == std::string::npos ? src.size() : open);
    if (trim_next_newline) {
      if (text.compare(0, 1, "\n") == 0) text.erase(0, 1);
      else if (text.compare(0, 2, "\r\n") == 0) text.erase(0, 2);
    }
    if (strip_next_text) {
      size_t k = 0;
      while (k < text.size() && is_space(text[k])) ++k;
      text.erase(0, k);
    }
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({Token::Kind::kText, text, text_line});
      break;
    }
    const char kind = src[open + 1];
    size_t inner = open + 2;
    const bool minus = inner < src.size() && src[inner] == '-';
    const bool plus = inner < src.size() && src[inner] == '+';
    if (minus || plus) ++inner;
    if (minus) {
      while (!text.empty() && is_space(text.back())) text.pop_back();
    } else if (!plus && (kind == '%' || kind == '#')) {
      // lstrip_blocks: spaces and tabs between a line start (in the source) and a block tag go.
      const std::string raw = src.substr(pos, open - pos);
      const size_t nl = raw.rfind('\n');
      const size_t from = nl == std::string::npos ? 0 : nl + 1;
      bool blank = true;
      for (size_t k = from; k < raw.size(); ++k) blank &= raw[k] == ' ' || raw[k] == '\t';
      const bool line_start = nl != std::string::npos || pos == 0 || src[pos - 1] == '\n';
      if (blank && line_start) text.erase(text.size() - std::min(text.size(), raw.size() - from));
    }
    if (!text.empty()) out.push_back({Token::Kind::kText, text, text_line});
    if (kind == '#') {
      const size_t close = src.find("#}", inner);
      UNL_CHECK(close != std::string::npos, where + "line " + std::to_string(line) + ": comment not closed", "add '#}'");
      count_lines(inner, close);
      strip_next_text = close > inner && src[close - 1] == '-';
      trim_next_newline = !strip_next_text;
      pos = close + 2;
      continue;
    }
    out.push_back({kind == '{' ? Token::Kind::kVarBegin : Token::Kind::kBlockBegin, "", line});
    const char* closer = kind == '{' ? "}}" : "%}";
    size_t i = inner;
    bool closed = false;
    while (i < src.size()) {
      const char c = src[i];
      if (is_space(c)) {
        line += c == '\n';
        ++i;
        continue;
      }
      const bool dash_close = c == '-' && src.compare(i + 1, 2, closer) == 0;
      if (dash_close || src.compare(i, 2, closer) == 0) {
        strip_next_text = dash_close;
        trim_next_newline = kind == '%' && !dash_close;
        out.push_back({kind == '{' ? Token::Kind::kVarEnd : Token::Kind::kBlockEnd, "", line});
        i += dash_close ? 3 : 2;
        closed = true;
        break;
      }
      if (c == '\'' || c == '"') {
        size_t j = i + 1;
        while (j < src.size() && src[j] != c) j += src[j] == '\\' ? 2 : 1;
        UNL_CHECK(j < src.size(), where + "line " + std::to_string(line) + ": string literal not closed", "close the quote");
        out.push_back({Token::Kind::kString, unescape(src.substr(i + 1, j - i - 1), line, where), line});
        count_lines(i, j);
        i = j + 1;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t j = i;
        while (j < src.size() && (std::isdigit(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
        bool is_float = false;
        if (j + 1 < src.size() && src[j] == '.' && std::isdigit(static_cast<unsigned char>(src[j + 1]))) {
          is_float = true;
          ++j;
          while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
        }
        if (j < src.size() && (src[j] == 'e' || src[j] == 'E')) {
          size_t k = j + 1;
          if (k < src.size() && (src[k] == '+' || src[k] == '-')) ++k;
          if (k < src.size() && std::isdigit(static_cast<unsigned char>(src[k]))) {
            is_float = true;
            j = k;
            while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
          }
        }
        std::string num;
        for (size_t k = i; k < j; ++k)
          if (src[k] != '_') num += src[k];
        out.push_back({is_float ? Token::Kind::kFloat : Token::Kind::kInt, num, line});
        i = j;
        continue;
      }
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < src.size() && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
        out.push_back({Token::Kind::kName, src.substr(i, j - i), line});
        i = j;
        continue;
      }
      static const char* kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                   "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};
      bool matched = false;
      for (const char* op : kOps) {
        const size_t n = std::strlen(op);
        if (src.compare(i, n, op) == 0) {
          out.push_back({Token::Kind::kOp, op, line});
          i += n;
          matched = true;
          break;
        }
      }
      UNL_CHECK(matched, where + "line " + std::to_string(line) + ": unexpected character '" + std::string(1, c) + "' in a tag",
                "the chat template uses syntax this Jinja subset does not know");
    }
    UNL_CHECK(closed, where + "line " + std::to_string(line) + ": tag not closed with '" + closer + "'", "close the tag");
    pos = i;
  }
  out.push_back({Token::Kind::kEnd, "", line});
  return out;
}

}  // namespace unl::tokenizer::jinja
