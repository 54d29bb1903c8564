// GPT-2 byte-level BPE as openai/gpt-2 encoder.py and HF GPT2Tokenizer do it: bytes_to_unicode,
// the reference pre-tokenizer (bpe_pretokenize.cpp), rank-ordered merges with a per-word cache,
// added tokens such as <|endoftext|> split out before pre-tokenization, and exact decoding.
#include "model/tokenizer.h"

#include "common/error.h"
#include "model/bpe_pretokenize.h"
#include "model/embedded_assets.h"
#include "model/json_strict.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unordered_map>

namespace unl::model {
namespace {

namespace fs = std::filesystem;
constexpr const char* kEndOfText = "<|endoftext|>";
constexpr size_t kMaxCacheEntries = 200000;

// GPT-2's reversible byte <-> printable-character map (encoder.py bytes_to_unicode): printable
// Latin-1 bytes map to themselves, the other 68 bytes to U+0100 onwards, in byte order.
struct ByteMap {
  std::array<std::string, 256> to_unicode;  // byte -> UTF-8 of its character
  std::array<int16_t, 512> to_byte;  // code point (all < 512) -> byte, -1 if unmapped
  ByteMap() {
    to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      to_byte[cp] = static_cast<int16_t>(b);
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      to_unicode[b] = s;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

std::string to_unicode_form(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) out += byte_map().to_unicode[b];
  return out;
}

// A vocabulary key in GPT-2's printable form back to raw bytes; false if it uses a character
// outside the map (only added tokens may).
bool to_raw_bytes(const std::string& token, std::string& out) {
  out.clear();
  for (size_t i = 0; i < token.size();) {
    const auto b0 = static_cast<unsigned char>(token[i]);
    char32_t cp;
    size_t len;
    if (b0 < 0x80) cp = b0, len = 1;
    else if ((b0 & 0xE0) == 0xC0 && i + 1 < token.size() && (token[i + 1] & 0xC0) == 0x80) cp = ((b0 & 0x1F) << 6) | (token[i + 1] & 0x3F), len = 2;
    else return false;
    const int16_t byte = cp < 512 ? byte_map().to_byte[cp] : -1;
    if (byte < 0) return false;
    out.push_back(static_cast<char>(byte));
    i += len;
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNL_CHECK(in.good(), path + ": cannot open", "check the tokenizer directory and permissions");
  // Checked before reading: the parsed JSON takes several times the file's size in memory.
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  UNL_CHECK(ec || bytes <= kMaxTokenizerFileBytes,
            path + ": " + std::to_string(bytes) + " bytes exceeds the tokenizer file limit of " +
                std::to_string(kMaxTokenizerFileBytes) + " bytes",
            "tokenizer files are a few MB; this is not a tokenizer file or it is corrupt");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    UNL_CHECK(out.good(), tmp.string() + ": write failed", "check free disk space and permissions");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  UNL_CHECK(!ec, path.string() + ": rename failed (" + ec.message() + ")", "check permissions");
}

}  // namespace

namespace bpe {

// The immutable tables (shared between copies of the embedded GPT-2 tokenizer).
struct Vocab {
  std::vector<std::string> token_bytes;  // id -> raw bytes
  std::vector<bool> present;             // id used by a token
  std::vector<bool> printable_form;      // false for added tokens stored verbatim
  std::unordered_map<std::string, int64_t> ids;  // raw bytes -> id (BPE tokens only)
  std::array<int64_t, 256> byte_id{};
  struct Merge {
    int32_t rank;
    int64_t merged;
  };
  std::unordered_map<uint64_t, Merge> merges;  // (left id << 32 | right id) -> rank, result
  std::vector<std::pair<int64_t, int64_t>> merge_list;  // rank order, for save()
  std::vector<std::pair<std::string, int64_t>> added;   // split out verbatim before BPE
  std::vector<bool> added_special;
  bool ignore_merges = false;
  int64_t eos = -1;

  // Ids index dense tables, so the largest id sizes them: it must stay below what the file's
  // token count justifies (set by the loaders before adding) and below the hard cap.
  int64_t id_limit = kMaxTokenId;

  /// Allow ids below 2 x the tokens the file defines + 1024 (real vocabularies are dense; the
  /// slack admits a few holes), never above kMaxTokenId.
  void set_id_limit(size_t tokens_in_file) {
    id_limit = std::min<int64_t>(kMaxTokenId, 2 * static_cast<int64_t>(tokens_in_file) + 1024);
  }

  void add_token(const std::string& raw, int64_t id, bool printable, const std::string& where) {
    UNL_CHECK(id >= 0 && id < id_limit,
              where + "id " + std::to_string(id) + " is out of range: ids must lie in [0, " +
                  std::to_string(id_limit) + ") (limit: twice the file's token count + 1024, at most " +
                  std::to_string(kMaxTokenId) + ")",
              "token ids are dense 0..N-1 in a real tokenizer; the file is corrupt or not a tokenizer file");
    if (static_cast<size_t>(id) >= token_bytes.size()) {
      token_bytes.resize(id + 1);
      present.resize(id + 1, false);
      printable_form.resize(id + 1, true);
    }
    UNL_CHECK(!present[id], where + "id " + std::to_string(id) + " is used by two tokens",
              "each token needs its own id");
    present[id] = true;
    token_bytes[id] = raw;
    printable_form[id] = printable;
  }

  // After vocab and merges are in: every single byte must be a token (byte-level BPE needs it).
  void finish(const std::string& where) {
    for (int b = 0; b < 256; ++b) {
      auto it = ids.find(std::string(1, static_cast<char>(b)));
      UNL_CHECK(it != ids.end(),
                where + "byte-level token '" + byte_map().to_unicode[b] + "' (byte " +
                    std::to_string(b) + ") is missing from the vocabulary",
                "the vocabulary is not a complete byte-level BPE vocabulary");
      byte_id[b] = it->second;
    }
    for (size_t i = 0; i < added.size(); ++i)
      if (added[i].first == kEndOfText) eos = added[i].second;
  }

  void add_merge(const std::string& left, const std::string& right, const std::string& where) {
    std::string raw_left, raw_right;
    auto lookup = [&](const std::string& token, std::string& raw) {
      UNL_CHECK(to_raw_bytes(token, raw) && ids.count(raw),
                where + "merge part '" + token + "' is not in the vocabulary",
                "merges.txt and vocab.json must come from the same tokenizer");
      return ids.at(raw);
    };
    const int64_t a = lookup(left, raw_left), b = lookup(right, raw_right);
    auto merged = ids.find(raw_left + raw_right);
    UNL_CHECK(merged != ids.end(),
              where + "merge result '" + left + right + "' is not in the vocabulary",
              "merges.txt and vocab.json must come from the same tokenizer");
    const uint64_t key = (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
    auto [it, inserted] = merges.emplace(key, Merge{static_cast<int32_t>(merge_list.size()), merged->second});
    UNL_CHECK(inserted,
              where + "merge '" + left + " " + right + "' repeats rank " + std::to_string(it->second.rank),
              "remove the duplicate line");
    merge_list.emplace_back(a, b);
  }
};

}  // namespace bpe

namespace {

using bpe::Vocab;

// vocab.json-style object {token: id} into `v`. Keys in printable form are BPE tokens; a key that
// is an added token's content may be verbatim.
void load_vocab_object(const nlohmann::json& vocab, const std::string& where, Vocab& v,
                       const std::vector<std::pair<std::string, int64_t>>& added) {
  UNL_CHECK(vocab.is_object(), where + "vocabulary must be a JSON object {token: id}",
            "use the vocab.json of a GPT-2 style tokenizer");
  std::string raw;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::string entry = where + "entry '" + it.key() + "': ";
    UNL_CHECK(it.value().is_number_integer(), entry + "id must be an integer, got " + it.value().dump(),
              "vocab.json maps each token string to an integer id");
    const int64_t id = it.value().get<int64_t>();
    bool is_added = false;
    for (const auto& a : added) is_added |= a.first == it.key() && a.second == id;
    if (to_raw_bytes(it.key(), raw)) {
      v.add_token(raw, id, true, entry);
      if (!is_added) v.ids.emplace(raw, id);
    } else {
      UNL_CHECK(is_added, entry + "is not in GPT-2's byte-level alphabet",
                "only byte-level BPE vocabularies (GPT-2 style) are supported");
      v.add_token(it.key(), id, false, entry);
    }
  }
}

void load_merges_text(std::string_view text, const std::string& path, Vocab& v) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.substr(0, 8) == "#version")) continue;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    const size_t sp = line.find(' ');
    UNL_CHECK(sp != std::string_view::npos && sp > 0 && sp + 1 < line.size() &&
                  line.find(' ', sp + 1) == std::string_view::npos,
              where + "expected two tokens separated by one space, got '" + std::string(line) + "'",
              "merges.txt has one merge 'left right' per line after '#version: 0.2'");
    v.add_merge(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)), where);
  }
}

std::shared_ptr<const Vocab> load_vocab_merges(std::string_view vocab_text, const std::string& vocab_path,
                                               std::string_view merges_text, const std::string& merges_path) {
  auto v = std::make_shared<Vocab>();
  const nlohmann::json vocab = parse_json_strict(vocab_text, vocab_path + ": ",
                                                 "vocab.json must be a JSON object {token: id}");
  // A vocab.json carries no added-token list; <|endoftext|> is GPT-2's one added token.
  std::vector<std::pair<std::string, int64_t>> added;
  if (vocab.is_object() && vocab.contains(kEndOfText) && vocab[kEndOfText].is_number_integer())
    added.emplace_back(kEndOfText, vocab[kEndOfText].get<int64_t>());
  if (vocab.is_object()) v->set_id_limit(vocab.size());
  load_vocab_object(vocab, vocab_path + ": ", *v, added);
  v->added = added;
  v->added_special.assign(added.size(), true);
  load_merges_text(merges_text, merges_path, *v);
  v->finish(vocab_path + ": ");
  return v;
}

}  // namespace

struct Tokenizer::Impl {
  std::shared_ptr<const bpe::Vocab> vocab;  // the GPT-2 fast path, or
  std::unique_ptr<tokenizer::Pretrained> general;  // a tokenizer.json / tokenizer.model directory
  mutable std::mutex mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;

  // Byte-level BPE of one pre-token, as encoder.py's bpe(): repeatedly merge every occurrence of
  // the adjacent pair with the lowest rank.
  std::vector<int64_t> merge_word(std::string_view word) const {
    const bpe::Vocab& v = *vocab;
    if (v.ignore_merges) {
      auto it = v.ids.find(std::string(word));
      if (it != v.ids.end()) return {it->second};
    }
    std::vector<int64_t> symbols;
    symbols.reserve(word.size());
    for (unsigned char b : word) symbols.push_back(v.byte_id[b]);
    std::vector<int64_t> next;
    while (symbols.size() > 1) {
      const bpe::Vocab::Merge* best = nullptr;
      uint64_t best_key = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        const uint64_t key = (static_cast<uint64_t>(symbols[i]) << 32) | static_cast<uint64_t>(symbols[i + 1]);
        auto it = v.merges.find(key);
        if (it != v.merges.end() && (!best || it->second.rank < best->rank)) best = &it->second, best_key = key;
      }
      if (!best) break;
      const int64_t left = static_cast<int64_t>(best_key >> 32), right = static_cast<int64_t>(best_key & 0xFFFFFFFF);
      next.clear();
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          next.push_back(best->merged);
          i += 2;
        } else {
          next.push_back(symbols[i]);
          i += 1;
        }
      }
      symbols.swap(next);
    }
    return symbols;
  }

  void encode_ordinary(std::string_view text, std::vector<int64_t>& out) const {
    for (std::string_view piece : bpe::pretokenize(text)) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = cache.find(std::string(piece));
        if (it != cache.end()) {
          out.insert(out.end(), it->second.begin(), it->second.end());
          continue;
        }
      }
      std::vector<int64_t> ids = merge_word(piece);
      out.insert(out.end(), ids.begin(), ids.end());
      std::lock_guard<std::mutex> lock(mutex);
      if (cache.size() >= kMaxCacheEntries) cache.clear();
      cache.emplace(std::string(piece), std::move(ids));
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_files(const std::string& vocab_json, const std::string& merges_txt) {
  auto impl = std::make_unique<Impl>();
  impl->vocab = load_vocab_merges(read_file(vocab_json), vocab_json, read_file(merges_txt), merges_txt);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_dir(const std::string& dir) {
  const fs::path d(dir);
  // tokenizer.json first: Qwen directories also ship a vocab.json + merges.txt, which alone would
  // lose their normalizer, pre-tokenizer regex and added tokens.
  if (!fs::exists(d / "tokenizer.json") && fs::exists(d / "vocab.json") && fs::exists(d / "merges.txt"))
    return from_files((d / "vocab.json").string(), (d / "merges.txt").string());
  UNL_CHECK(tokenizer::Pretrained::present_in(dir),
            dir + ": no tokenizer found (neither tokenizer.json, vocab.json + merges.txt, nor tokenizer.model)",
            "copy the tokenizer files of the model into its directory, or use the embedded GPT-2 "
            "tokenizer");
  auto impl = std::make_unique<Impl>();
  impl->general = std::make_unique<tokenizer::Pretrained>(tokenizer::Pretrained::from_dir(dir));
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::gpt2() {
  static const std::shared_ptr<const bpe::Vocab> vocab =
      load_vocab_merges(assets::gpt2_vocab_json(), "<embedded gpt2>/vocab.json",
                        assets::gpt2_merges_txt(), "<embedded gpt2>/merges.txt");
  auto impl = std::make_unique<Impl>();
  impl->vocab = vocab;
  return Tokenizer(std::move(impl));
}

std::vector<int64_t> Tokenizer::encode(std::string_view text) const { return encode(text, true); }

std::vector<int64_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (impl_->general) return impl_->general->encode(text, add_special_tokens);
  // GPT-2 has no post-processor: add_special_tokens changes nothing.
  const bpe::Vocab& v = *impl_->vocab;
  std::vector<int64_t> out;
  // Added tokens split the text first (leftmost, then longest), as HF does for added tokens.
  while (!text.empty()) {
    size_t best_pos = std::string_view::npos, best_len = 0;
    int64_t best_id = -1;
    for (const auto& [content, id] : v.added) {
      if (content.empty()) continue;
      const size_t pos = text.find(content);
      if (pos != std::string_view::npos &&
          (pos < best_pos || (pos == best_pos && content.size() > best_len)))
        best_pos = pos, best_len = content.size(), best_id = id;
    }
    if (best_id < 0) {
      impl_->encode_ordinary(text, out);
      break;
    }
    impl_->encode_ordinary(text.substr(0, best_pos), out);
    out.push_back(best_id);
    text.remove_prefix(best_pos + best_len);
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const { return decode(ids, false, false); }

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens, bool clean_up) const {
  if (impl_->general) return impl_->general->decode(ids, skip_special_tokens, clean_up);
  // GPT-2's config sets clean_up_tokenization_spaces false, so clean_up changes nothing.
  const bpe::Vocab& v = *impl_->vocab;
  std::string bytes;
  for (int64_t id : ids) {
    UNL_CHECK(id >= 0 && static_cast<size_t>(id) < v.present.size() && v.present[id],
              "decode: token id " + std::to_string(id) + " is not in the vocabulary (size " +
                  std::to_string(v.present.size()) + ")",
              "the ids were produced by a different tokenizer or model (vocab_size mismatch)");
    if (skip_special_tokens) {
      bool special = false;
      for (size_t i = 0; i < v.added.size(); ++i) special |= v.added[i].second == id && v.added_special[i];
      if (special) continue;
    }
    bytes += v.token_bytes[id];
  }
  return bpe::utf8_replace_invalid(bytes);
}

int64_t Tokenizer::vocab_size() const {
  if (impl_->general) return impl_->general->tokenizer().vocab_size();
  return static_cast<int64_t>(impl_->vocab->present.size());
}

int64_t Tokenizer::eos_id() const {
  if (impl_->general) {
    if (auto id = impl_->general->eos_id()) return *id;
    return impl_->general->tokenizer().token_to_id(kEndOfText).value_or(-1);
  }
  return impl_->vocab->eos;
}

int64_t Tokenizer::bos_id() const {
  if (impl_->general) return impl_->general->bos_id().value_or(-1);
  return -1;  // GPT-2 adds no BOS (its config names <|endoftext|>, which encode never adds)
}

bool Tokenizer::clean_up_tokenization_spaces() const {
  return impl_->general && impl_->general->config().clean_up_tokenization_spaces;
}

bool Tokenizer::has_chat_template() const { return impl_->general && impl_->general->has_chat_template(); }

std::string Tokenizer::apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
  return apply_chat_template(messages, add_generation_prompt, nlohmann::ordered_json::object());
}

std::string Tokenizer::apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                           const nlohmann::ordered_json& kwargs) const {
  UNL_CHECK(impl_->general, "the GPT-2 tokenizer has no chat template",
            "use a model directory whose tokenizer_config.json has a chat_template");
  return impl_->general->apply_chat_template(messages, add_generation_prompt, kwargs);
}

void Tokenizer::save(const std::string& dir) const {
  if (impl_->general) {
    impl_->general->save(dir);
    return;
  }
  const bpe::Vocab& v = *impl_->vocab;
  std::error_code ec;
  fs::create_directories(dir, ec);
  UNL_CHECK(!ec, dir + ": cannot create directory (" + ec.message() + ")", "check permissions");
  // Keys sorted, as HF writes them (sort_keys=True); ordered_json would be quadratic here.
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t id = 0; id < v.present.size(); ++id)
    if (v.present[id])
      vocab[v.printable_form[id] ? to_unicode_form(v.token_bytes[id]) : v.token_bytes[id]] = id;
  write_file_atomic(fs::path(dir) / "vocab.json", vocab.dump() + "\n");

  std::string merges = "#version: 0.2\n";
  for (const auto& [a, b] : v.merge_list)
    merges += to_unicode_form(v.token_bytes[a]) + " " + to_unicode_form(v.token_bytes[b]) + "\n";
  write_file_atomic(fs::path(dir) / "merges.txt", merges);

  nlohmann::ordered_json config = {{"tokenizer_class", "GPT2Tokenizer"},
                                   {"add_prefix_space", false},
                                   {"add_bos_token", false},
                                   {"clean_up_tokenization_spaces", false},
                                   {"errors", "replace"}};
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  if (v.eos >= 0) {
    for (const char* key : {"bos_token", "eos_token", "unk_token"}) {
      config[key] = kEndOfText;
      special[key] = kEndOfText;
    }
  }
  nlohmann::ordered_json decoder = nlohmann::ordered_json::object();
  for (size_t i = 0; i < v.added.size(); ++i)
    decoder[std::to_string(v.added[i].second)] = {{"content", v.added[i].first},
                                                  {"lstrip", false},
                                                  {"normalized", true},
                                                  {"rstrip", false},
                                                  {"single_word", false},
                                                  {"special", static_cast<bool>(v.added_special[i])}};
  config["added_tokens_decoder"] = decoder;
  write_file_atomic(fs::path(dir) / "tokenizer_config.json", config.dump(2) + "\n");
  write_file_atomic(fs::path(dir) / "special_tokens_map.json", special.dump(2) + "\n");
}

}  // namespace unl::model
