// The tokenizer.json pipeline: added tokens -> normalizer -> pre-tokenizer -> model ->
// post-processor, and ids -> tokens -> decoder. Built from the file, refusing what we lack.
#include "common/error.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/decoder.h"
#include "tokenizer/file_io.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace unl::tokenizer {
namespace {

using nlohmann::json;

bool present(const json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

class Pipeline : public Tokenizer {
 public:
  Pipeline(const json& j, const std::string& where) {
    const std::string hint = "the file does not follow the Hugging Face tokenizers format";
    UNL_CHECK(j.is_object(), where + "expected a JSON object", hint);
    UNL_CHECK(present(j, "model"), where + "missing object 'model'", hint);
    if (present(j, "normalizer")) normalizer_ = make_normalizer(j["normalizer"], where + "normalizer");
    if (present(j, "pre_tokenizer")) pre_tokenizer_ = make_pre_tokenizer(j["pre_tokenizer"], where + "pre_tokenizer");
    if (present(j, "post_processor")) post_processor_ = make_post_processor(j["post_processor"], where + "post_processor");
    if (present(j, "decoder")) decoder_ = make_decoder(j["decoder"], where + "decoder");
    const json none = json::array();
    const json& added = present(j, "added_tokens") ? j["added_tokens"] : none;
    const json& vocab = j["model"].is_object() && j["model"].contains("vocab") ? j["model"]["vocab"] : none;
    const size_t token_count = (vocab.is_object() ? vocab.size() : 0) + (added.is_array() ? added.size() : 0);
    added_ = AddedVocabulary(added, where + "added_tokens", normalizer_.get());
    const int64_t limit = id_limit(token_count);
    for (const auto& t : added_.tokens()) {
      UNL_CHECK(t.id >= 0 && t.id < limit,
                where + "added token '" + t.content + "': id " + std::to_string(t.id) +
                    " is out of range: ids must lie in [0, " + std::to_string(limit) +
                    ") (limit: twice the file's token count + 1024, at most " + std::to_string(kMaxTokenId) + ")",
                "token ids are dense 0..N-1 in a real tokenizer; the file is corrupt");
      vocab_size_ = std::max(vocab_size_, t.id + 1);
    }
    model_ = make_model(j["model"], where + "model", token_count);
    vocab_size_ = std::max(vocab_size_, model_->id_bound());
    // tokenizers decodes a normalized added token as its normalized form.
    for (const auto& t : added_.tokens()) {
      std::string shown = t.content;
      if (t.normalized && normalizer_) normalizer_->normalize(shown);
      added_text_[t.id] = shown;
    }
  }

  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens) const override {
    const std::string clean = unicode::is_valid_utf8(text) ? std::string(text) : unicode::replace_invalid_utf8(text);
    std::vector<Piece> pieces = added_.extract_and_normalize(clean, normalizer_.get());
    if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
    std::vector<int64_t> ids;
    ids.reserve(clean.size() / 3 + 4);
    for (const Piece& p : pieces) {
      if (p.id >= 0) ids.push_back(p.id);
      else if (!p.text.empty()) model_->tokenize(p.text, ids);
    }
    if (add_special_tokens && post_processor_) post_processor_->process(ids);
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int64_t id : ids) {
      if (const AddedToken* t = added_.find(id)) {
        if (!(skip_special_tokens && t->special)) tokens.push_back(added_text_.at(id));
        continue;
      }
      const std::string* s = model_->id_to_token(id);
      UNL_CHECK(s, "decode: token id " + std::to_string(id) + " is not in the vocabulary (size " +
                       std::to_string(vocab_size_) + ")",
                "the ids were produced by a different tokenizer or model (vocab_size mismatch)");
      if (skip_special_tokens && added_.token_to_id(*s) && added_.find(*added_.token_to_id(*s))->special) continue;
      tokens.push_back(*s);
    }
    if (!decoder_) {
      std::string out;
      for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
      return out;
    }
    std::string out;
    for (const auto& t : decoder_->decode_chain(std::move(tokens))) out += t;
    return out;
  }

  std::optional<int64_t> token_to_id(const std::string& token) const override {
    if (auto id = added_.token_to_id(token)) return id;
    return model_->token_to_id(token);
  }
  std::optional<std::string> id_to_token(int64_t id) const override {
    if (const AddedToken* t = added_.find(id)) return t->content;
    if (const std::string* s = model_->id_to_token(id)) return *s;
    return std::nullopt;
  }
  int64_t vocab_size() const override { return vocab_size_; }
  bool is_special(int64_t id) const override {
    const AddedToken* t = added_.find(id);
    return t && t->special;
  }

 private:
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  std::unordered_map<int64_t, std::string> added_text_;
  int64_t vocab_size_ = 0;
};

}  // namespace

std::string read_tokenizer_file(const std::string& path) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  UNL_CHECK(!ec, path + ": cannot read (" + ec.message() + ")", "check the tokenizer directory and permissions");
  UNL_CHECK(bytes <= kMaxFileBytes,
            path + ": " + std::to_string(bytes) + " bytes exceeds the tokenizer file limit of " +
                std::to_string(kMaxFileBytes) + " bytes",
            "tokenizer files are a few MB; this is not a tokenizer file or it is corrupt");
  std::ifstream in(path, std::ios::binary);
  UNL_CHECK(in.good(), path + ": cannot open", "check the tokenizer directory and permissions");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view text, const std::string& where) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  UNL_CHECK(!j.is_discarded(), where + "not valid JSON", "the file is truncated or not a tokenizer.json");
  return std::make_unique<Pipeline>(j, where);
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) {
  return parse_tokenizer_json(read_tokenizer_file(path), path + ": ");
}

}  // namespace unl::tokenizer
