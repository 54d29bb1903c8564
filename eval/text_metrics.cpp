// SQuAD normalisation, unigram F1 and zlib size; each mirrors the Python it is compared with.
#include "eval/text_metrics.h"

#include <zlib.h>

#include <cctype>
#include <cstring>
#include <map>
#include <sstream>

#include "common/error.h"

namespace unl::eval {
namespace {

bool is_py_whitespace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : s) {
    if (is_py_whitespace(c)) {
      if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
    } else {
      cur.push_back(static_cast<char>(c));
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

}  // namespace

std::string squad_normalize(const std::string& text) {
  // lower (ASCII only: Python lowers non-ASCII letters too, which no English data here needs)
  std::string s;
  s.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x80 && std::ispunct(c)) continue;  // string.punctuation is exactly ASCII ispunct
    s.push_back(c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c));
  }
  // remove_articles: re.sub(r"\b(a|an|the)\b", " ", s); after punctuation removal, word
  // boundaries are whitespace or string ends (digits/underscore/letters are word characters).
  std::string out;
  auto is_word = [](unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; };
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (is_word(s[i]) && (i == 0 || !is_word(s[i - 1]))) {
      size_t j = i;
      while (j < s.size() && is_word(s[j])) ++j;
      const std::string w = s.substr(i, j - i);
      if (w == "a" || w == "an" || w == "the") {
        out += ' ';
        i = j;
        replaced = true;
      }
    }
    if (!replaced) out.push_back(s[i++]);
  }
  std::string joined;
  for (const auto& w : split_ws(out)) joined += (joined.empty() ? "" : " ") + w;
  replace_all(joined, "<extra_id_0>", "");
  replace_all(joined, "<extra_id_1>", "");
  return joined;
}

std::vector<std::string> normalized_tokens(const std::string& text) { return split_ws(squad_normalize(text)); }

double unigram_f1(const std::string& prediction, const std::string& ground_truth) {
  const auto p = normalized_tokens(prediction), g = normalized_tokens(ground_truth);
  std::map<std::string, int64_t> pc, gc;
  for (const auto& w : p) ++pc[w];
  for (const auto& w : g) ++gc[w];
  int64_t same = 0;
  for (const auto& [w, c] : pc)
    if (auto it = gc.find(w); it != gc.end()) same += std::min(c, it->second);
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(p.size());
  const double recall = static_cast<double>(same) / static_cast<double>(g.size());
  return 2 * precision * recall / (precision + recall);
}

namespace {
std::vector<std::string> rouge_tokens(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : text) {
    const char l = static_cast<char>(c < 0x80 ? std::tolower(c) : c);
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      cur.push_back(l);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}
}  // namespace

double rouge_l_recall(const std::string& prediction, const std::string& reference) {
  const auto p = rouge_tokens(prediction), r = rouge_tokens(reference);
  if (r.empty() || p.empty()) return 0.0;
  std::vector<int64_t> prev(p.size() + 1, 0), cur(p.size() + 1, 0);
  for (size_t i = 1; i <= r.size(); ++i) {
    for (size_t j = 1; j <= p.size(); ++j)
      cur[j] = r[i - 1] == p[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  return static_cast<double>(prev[p.size()]) / static_cast<double>(r.size());
}

size_t zlib_size(const std::string& text) {
  uLongf len = compressBound(static_cast<uLong>(text.size()));
  std::string buf(len, '\0');
  const int rc = compress(reinterpret_cast<Bytef*>(buf.data()), &len, reinterpret_cast<const Bytef*>(text.data()),
                          static_cast<uLong>(text.size()));
  UNL_CHECK(rc == Z_OK, "zlib compress failed with code " + std::to_string(rc), "this is a bug or out of memory");
  return static_cast<size_t>(len);
}

}  // namespace unl::eval
