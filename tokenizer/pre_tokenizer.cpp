// The pre-tokenizer variants of Hugging Face tokenizers (pre_tokenizers/*.rs) and the split
// behaviours they share (NormalizedString::split in tokenizer/normalizer.rs).
#include "tokenizer/pre_tokenizer.h"

#include "common/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace unl::tokenizer {

using nlohmann::json;

Segments segments_from_matches(const std::vector<std::pair<size_t, size_t>>& matches, size_t size, bool invert) {
  Segments out;
  size_t prev = 0;
  for (const auto& [s, e] : matches) {
    if (prev != s) out.push_back({{prev, s}, invert});
    out.push_back({{s, e}, !invert});
    prev = e;
  }
  if (prev != size || size == 0) out.push_back({{prev, size}, invert});
  return out;
}

Segments segments_from_chars(const std::string& text, const std::function<bool(char32_t)>& is_delim) {
  Segments out;
  size_t last = 0, i = 0;
  while (i < text.size()) {
    const size_t start = i;
    const char32_t c = unicode::next_code_point(text, i);
    if (is_delim(c)) {
      if (last < start) out.push_back({{last, start}, false});
      out.push_back({{start, i}, true});
      last = i;
    }
  }
  if (last < text.size() || text.empty()) out.push_back({{last, text.size()}, false});
  return out;
}

void split_piece(const Piece& piece, const Segments& segments, SplitBehavior behavior, std::vector<Piece>& out) {
  // (range, remove) after the behaviour, as NormalizedString::split computes it.
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> ranges;
  ranges.reserve(segments.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& [r, m] : segments) ranges.push_back({r, false});
      break;
    case SplitBehavior::kRemoved:
      ranges = segments;
      break;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const auto& [r, m] : segments) {
        if (m == previous && !ranges.empty()) ranges.back().first.second = r.second;
        else ranges.push_back({r, false});
        previous = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const auto& [r, m] : segments) {
        if (m && !previous && !ranges.empty()) ranges.back().first.second = r.second;
        else ranges.push_back({r, false});
        previous = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->second && !previous && !ranges.empty()) ranges.back().first.first = it->first.first;
        else ranges.push_back({it->first, false});
        previous = it->second;
      }
      std::reverse(ranges.begin(), ranges.end());
      break;
    }
  }
  for (const auto& [r, remove] : ranges) {
    if (remove || r.second <= r.first) continue;
    Piece p;
    p.text = piece.text.substr(r.first, r.second - r.first);
    p.at_start = piece.at_start && r.first == 0;
    out.push_back(std::move(p));
  }
}

namespace {

// Runs `fn(piece, out)` on every piece without an id, keeping matched added tokens in place.
template <typename Fn>
void split_each(std::vector<Piece>& pieces, Fn fn) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 4);
  for (auto& p : pieces) {
    if (p.id >= 0) out.push_back(std::move(p));
    else fn(p, out);
  }
  pieces.swap(out);
}

SplitBehavior parse_behavior(const json& j, const char* key, SplitBehavior fallback, const std::string& where) {
  const std::string s = fields::string(j, key, "", where);
  if (s.empty()) return fallback;
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  UNL_THROW(where + "." + key + ": split behavior '" + s + "' is not known",
            "use Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPre : public PreTokenizer {
 public:
  ByteLevelPre(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), regex_(use_regex ? std::make_unique<Regex>(kGpt2Pattern, "ByteLevel: ") : nullptr) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_each(pieces, [&](Piece& p, std::vector<Piece>& out) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      const size_t first = out.size();
      if (regex_) {
        split_piece(p, segments_from_matches(regex_->find_all(p.text), p.text.size(), false), SplitBehavior::kIsolated, out);
      } else if (!p.text.empty()) {
        out.push_back(std::move(p));
      }
      for (size_t i = first; i < out.size(); ++i) out[i].text = byte_level::encode(out[i].text);
    });
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class SplitPre : public PreTokenizer {
 public:
  SplitPre(Regex pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_each(pieces, [&](Piece& p, std::vector<Piece>& out) {
      split_piece(p, segments_from_matches(pattern_.find_all(p.text), p.text.size(), invert_), behavior_, out);
    });
  }

 private:
  Regex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class CharSplit : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> is_delim, SplitBehavior behavior)
      : is_delim_(std::move(is_delim)), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_each(pieces, [&](Piece& p, std::vector<Piece>& out) {
      split_piece(p, segments_from_chars(p.text, is_delim_), behavior_, out);
    });
  }

 private:
  std::function<bool(char32_t)> is_delim_;
  SplitBehavior behavior_;
};

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {
    size_t i = 0;
    replacement_cp_ = replacement_.empty() ? 0 : unicode::next_code_point(replacement_, i);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_each(pieces, [&](Piece& p, std::vector<Piece>& out) {
      std::string text;
      text.reserve(p.text.size() + 8);
      for (char c : p.text) {
        if (c == ' ') text += replacement_;
        else text += c;
      }
      const bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!text.empty() && !starts &&
          (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_start)))
        text.insert(0, replacement_);
      p.text.swap(text);
      if (!split_) {
        if (!p.text.empty()) out.push_back(std::move(p));
        return;
      }
      const char32_t r = replacement_cp_;
      split_piece(p, segments_from_chars(p.text, [r](char32_t c) { return c == r; }), SplitBehavior::kMergedWithNext, out);
    });
  }

 private:
  std::string replacement_;
  char32_t replacement_cp_;
  PrependScheme scheme_;
  bool split_;
};

class WhitespacePre : public PreTokenizer {
 public:
  WhitespacePre() : regex_(R"(\w+|[^\w\s]+)", "Whitespace: ") {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_each(pieces, [&](Piece& p, std::vector<Piece>& out) {
      split_piece(p, segments_from_matches(regex_.find_all(p.text), p.text.size(), true), SplitBehavior::kRemoved, out);
    });
  }

 private:
  Regex regex_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

PrependScheme metaspace_prepend_scheme(const json& j, const std::string& where) {
  const std::string s = fields::string(j, "prepend_scheme", "always", where);
  PrependScheme scheme;
  if (s == "always") scheme = PrependScheme::kAlways;
  else if (s == "first") scheme = PrependScheme::kFirst;
  else if (s == "never") scheme = PrependScheme::kNever;
  else UNL_THROW(where + ".prepend_scheme: '" + s + "' is not known", "use always, first or never");
  // Files written before prepend_scheme existed say add_prefix_space instead.
  if (j.contains("add_prefix_space") && !fields::boolean(j, "add_prefix_space", true, where)) scheme = PrependScheme::kNever;
  return scheme;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where) {
  const fields::NestingGuard guard(where);
  const std::string type = fields::type_of(j, where);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPre>(fields::boolean(j, "add_prefix_space", true, where),
                                          fields::boolean(j, "use_regex", true, where));
  if (type == "Split") {
    const json& pattern = fields::required(j, "pattern", where);
    return std::make_unique<SplitPre>(make_pattern(pattern, where + ".pattern"),
                                      parse_behavior(j, "behavior", SplitBehavior::kIsolated, where),
                                      fields::boolean(j, "invert", false, where));
  }
  if (type == "Metaspace") {
    const std::string replacement = fields::string(j, "replacement", "\xE2\x96\x81", where);
    UNL_CHECK(unicode::count_code_points(replacement) == 1,
              where + ".replacement: must be one character, got '" + replacement + "'", "fix the tokenizer.json");
    return std::make_unique<Metaspace>(replacement, metaspace_prepend_scheme(j, where),
                                       fields::boolean(j, "split", true, where));
  }
  if (type == "Digits") {
    const bool individual = fields::boolean(j, "individual_digits", false, where);
    return std::make_unique<CharSplit>(unicode::is_numeric,
                                       individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "Punctuation")
    return std::make_unique<CharSplit>(unicode::is_punctuation,
                                       parse_behavior(j, "behavior", SplitBehavior::kIsolated, where));
  if (type == "Whitespace") return std::make_unique<WhitespacePre>();
  if (type == "WhitespaceSplit") return std::make_unique<CharSplit>(unicode::is_whitespace, SplitBehavior::kRemoved);
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(std::make_unique<CharSplit>(unicode::is_whitespace, SplitBehavior::kRemoved));
    parts.push_back(std::make_unique<CharSplit>(unicode::is_punctuation, SplitBehavior::kIsolated));
    return std::make_unique<SequencePre>(std::move(parts));
  }
  if (type == "Sequence") {
    const json& list = fields::required_array(j, "pretokenizers", where);
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return std::make_unique<SequencePre>(std::move(parts));
  }
  fields::unsupported("pre_tokenizer", type, where,
                      "ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, "
                      "BertPreTokenizer, Sequence");
}

}  // namespace unl::tokenizer
