// BPE as tokenizers' models/bpe (model.rs, word.rs): characters -> vocabulary ids (with prefix,
// suffix, byte fallback and unknown token), then a heap of candidate merges, lowest rank first and
// leftmost on ties, until none applies. Results are cached per thread by piece.
#include "tokenizer/bpe.h"

#include "common/error.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/unicode.h"

#include <algorithm>
#include <atomic>
#include <queue>

namespace unl::tokenizer {
namespace {

using nlohmann::json;
constexpr size_t kCacheEntries = 100000;
constexpr size_t kCacheMaxPiece = 256;
std::atomic<uint64_t> next_serial{1};

struct Cache {
  uint64_t serial = 0;
  std::unordered_map<std::string, std::vector<int64_t>> map;
};
thread_local Cache tls_cache;

std::string hex_byte_token(int b) {
  static const char* digits = "0123456789ABCDEF";
  std::string s = "<0x";
  s += digits[b >> 4];
  s += digits[b & 15];
  s += '>';
  return s;
}

}  // namespace

int64_t id_limit(size_t token_count) {
  return std::min<int64_t>(kMaxTokenId, 2 * static_cast<int64_t>(std::min<size_t>(token_count, kMaxTokenId)) + 1024);
}

Bpe::~Bpe() = default;

Bpe::Bpe(const json& j, const std::string& where, size_t token_count) : serial_(next_serial++) {
  const std::string hint = "the tokenizer.json's BPE model is corrupt or not in the tokenizers format";
  if (j.contains("dropout") && !j["dropout"].is_null()) {
    UNL_CHECK(j["dropout"].is_number(), where + ".dropout: expected a number", hint);
    UNL_CHECK(j["dropout"].get<double>() == 0.0,
              where + ".dropout = " + j["dropout"].dump() + " is not supported (it makes encoding random)",
              "set model.dropout to null: dropout is for training a tokenizer, not for using one");
  }
  unk_token_ = fields::optional_string(j, "unk_token", where);
  prefix_ = fields::string(j, "continuing_subword_prefix", "", where);
  suffix_ = fields::string(j, "end_of_word_suffix", "", where);
  byte_fallback_ = fields::boolean(j, "byte_fallback", false, where);
  fuse_unk_ = fields::boolean(j, "fuse_unk", false, where);
  ignore_merges_ = fields::boolean(j, "ignore_merges", false, where);

  const json& vocab = fields::required(j, "vocab", where);
  UNL_CHECK(vocab.is_object(), where + ".vocab: expected an object {token: id}, got " + std::string(vocab.type_name()), hint);
  const int64_t limit = id_limit(token_count);
  vocab_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::string entry = where + ".vocab entry '" + it.key() + "': ";
    UNL_CHECK(it.value().is_number_integer(), entry + "id must be an integer, got " + it.value().dump(), hint);
    const int64_t id = it.value().get<int64_t>();
    UNL_CHECK(id >= 0 && id < limit,
              entry + "id " + std::to_string(id) + " is out of range: ids must lie in [0, " + std::to_string(limit) +
                  ") (limit: twice the file's token count + 1024, at most " + std::to_string(kMaxTokenId) + ")",
              "token ids are dense 0..N-1 in a real tokenizer; the file is corrupt");
    if (static_cast<size_t>(id) >= tokens_.size()) {
      tokens_.resize(id + 1);
      present_.resize(id + 1, false);
    }
    UNL_CHECK(!present_[id], entry + "id " + std::to_string(id) + " is used by two tokens", "each token needs its own id");
    present_[id] = true;
    tokens_[id] = it.key();
    vocab_.emplace(it.key(), static_cast<int32_t>(id));
  }

  const json& merges = fields::required_array(j, "merges", where);
  merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string at = where + ".merges[" + std::to_string(i) + "]: ";
    const json& e = merges[i];
    std::string a, b;
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      UNL_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < s.size() && s.find(' ', sp + 1) == std::string::npos,
                at + "expected \"left right\", got '" + s + "'", hint);
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      UNL_CHECK(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string(),
                at + "expected \"left right\" or [left, right], got " + e.dump(), hint);
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    }
    const int64_t ai = lookup(a), bi = lookup(b);
    UNL_CHECK(ai >= 0, at + "merge part '" + a + "' is not in the vocabulary", hint);
    UNL_CHECK(bi >= 0, at + "merge part '" + b + "' is not in the vocabulary", hint);
    // The right part's continuing-subword prefix is not repeated inside the merged token.
    const std::string merged = a + (b.compare(0, prefix_.size(), prefix_) == 0 ? b.substr(prefix_.size()) : b);
    const int64_t mi = lookup(merged);
    UNL_CHECK(mi >= 0, at + "merge result '" + merged + "' is not in the vocabulary", hint);
    const uint64_t key = (static_cast<uint64_t>(ai) << 32) | static_cast<uint64_t>(bi);
    merges_[key] = Merge{static_cast<int32_t>(i), static_cast<int32_t>(mi)};  // a repeated pair: the later rank wins, as in tokenizers
  }
  for (int b = 0; b < 256; ++b) byte_ids_[b] = static_cast<int32_t>(lookup(hex_byte_token(b)));
  if (unk_token_)
    UNL_CHECK(lookup(*unk_token_) >= 0, where + ".unk_token '" + *unk_token_ + "' is not in the vocabulary",
              "add the unknown token to model.vocab or set unk_token to null");
}

int64_t Bpe::lookup(const std::string& s) const {
  auto it = vocab_.find(s);
  return it == vocab_.end() ? -1 : it->second;
}

std::optional<int64_t> Bpe::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Bpe::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[id]) return nullptr;
  return &tokens_[id];
}

void Bpe::tokenize(std::string_view piece, std::vector<int64_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(std::string(piece));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (piece.size() >= kCacheMaxPiece) {
    merge_word(piece, out);
    return;
  }
  Cache& cache = tls_cache;
  if (cache.serial != serial_) {
    cache.map.clear();
    cache.serial = serial_;
  }
  std::string key(piece);
  auto it = cache.map.find(key);
  if (it != cache.map.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  std::vector<int64_t> ids;
  merge_word(piece, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cache.map.size() >= kCacheEntries) cache.map.clear();
  cache.map.emplace(std::move(key), std::move(ids));
}

void Bpe::merge_word(std::string_view w, std::vector<int64_t>& out) const {
  struct Symbol {
    int64_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(w.size());
  auto add = [&](int64_t id) {
    const int32_t n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, n + 1, true});
  };
  int64_t unk = -1;  // a pending (possibly fused) unknown token
  const int64_t unk_id = unk_token_ ? lookup(*unk_token_) : -1;
  std::string s;
  size_t i = 0;
  while (i < w.size()) {
    const size_t start = i;
    unicode::next_code_point(w, i);
    s.assign(w.data() + start, i - start);
    if (start > 0 && !prefix_.empty()) s.insert(0, prefix_);
    if (i >= w.size() && !suffix_.empty()) s += suffix_;
    const int64_t id = lookup(s);
    if (id >= 0) {
      if (unk >= 0) add(unk), unk = -1;
      add(id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char b : s) all &= byte_ids_[b] >= 0;
      if (all) {
        // As tokenizers does, a pending unknown token is not flushed before byte tokens.
        for (unsigned char b : s) add(byte_ids_[b]);
        continue;
      }
    }
    if (unk_id >= 0) {
      if (unk >= 0 && !fuse_unk_) add(unk);
      unk = unk_id;
    }
  }
  if (unk >= 0) add(unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank, pos;
    int64_t merged;
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  auto find = [&](int64_t a, int64_t b) -> const Merge* {
    auto it = merges_.find((static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  std::priority_queue<Candidate> queue;
  for (size_t k = 0; k + 1 < symbols.size(); ++k)
    if (const Merge* m = find(symbols[k].id, symbols[k + 1].id)) queue.push({m->rank, static_cast<int32_t>(k), m->merged});
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    Symbol& right = symbols[cur.next];
    const Merge* m = find(cur.id, right.id);
    if (!m || m->merged != top.merged) continue;  // an entry made stale by an earlier merge
    cur.id = top.merged;
    right.alive = false;
    cur.next = right.next;
    if (cur.next >= 0) symbols[cur.next].prev = top.pos;
    if (cur.prev >= 0)
      if (const Merge* p = find(symbols[cur.prev].id, cur.id)) queue.push({p->rank, cur.prev, p->merged});
    if (cur.next >= 0)
      if (const Merge* n = find(cur.id, symbols[cur.next].id)) queue.push({n->rank, top.pos, n->merged});
  }
  for (const Symbol& sym : symbols)
    if (sym.alive) out.push_back(sym.id);
}

std::unique_ptr<Model> make_model(const json& j, const std::string& where, size_t token_count) {
  // Old files omit the type of a BPE model.
  const std::string type = j.is_object() && !j.contains("type") ? "BPE" : fields::type_of(j, where);
  if (type == "BPE") return std::make_unique<Bpe>(j, where, token_count);
  fields::unsupported("model", type, where, "BPE");
}

}  // namespace unl::tokenizer
