// unl::tokenizer public API: text <-> token ids for the model families people unlearn (a
// tokenizer.json pipeline, or a SentencePiece tokenizer.model), plus a model directory's
// tokenizer_config.json (special tokens, clean-up, chat template). No torch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace unl::tokenizer {

/// Largest tokenizer file read (real ones are a few MB); checked before reading.
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

/// Text <-> ids for one vocabulary.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  /// Encode text (invalid UTF-8 is read as U+FFFD). add_special_tokens applies the
  /// post-processor (e.g. a BOS); special tokens written in the text are always matched.
  virtual std::vector<int64_t> encode(std::string_view text, bool add_special_tokens) const = 0;
  /// Ids back to text through the decoder; throws on an id outside the vocabulary.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const = 0;
  virtual std::optional<int64_t> token_to_id(const std::string& token) const = 0;
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  /// One past the largest id (model vocabulary and added tokens).
  virtual int64_t vocab_size() const = 0;
  virtual bool is_special(int64_t id) const = 0;
};

/// A tokenizer.json (Hugging Face tokenizers format) from its text; `where` prefixes errors.
std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view text, const std::string& where);
/// A tokenizer.json file.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path);
/// A SentencePiece tokenizer.model; BOS / EOS added on encode with special tokens as asked.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path, bool add_bos, bool add_eos);

/// transformers' clean_up_tokenization: " ." -> ".", " n't" -> "n't", " 's" -> "'s", ...
std::string clean_up_tokenization(const std::string& text);

/// What tokenizer_config.json (and chat_template.jinja / chat_template.json) say.
struct TokenizerConfig {
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token;
  std::optional<std::string> chat_template;
  bool clean_up_tokenization_spaces = false;
  std::optional<bool> add_bos_token, add_eos_token;
  /// Read from a model directory; missing files give the defaults.
  static TokenizerConfig from_dir(const std::string& dir);
};

/// The tokenizer of a model directory: tokenizer.json, else tokenizer.model, with its config.
class Pretrained {
 public:
  /// Throws when the directory has neither tokenizer.json nor tokenizer.model.
  static Pretrained from_dir(const std::string& dir);
  /// True when `dir` has a tokenizer this class loads.
  static bool present_in(const std::string& dir);

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const TokenizerConfig& config() const { return config_; }
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const {
    return tokenizer_->encode(text, add_special_tokens);
  }
  /// Decode, then apply clean_up_tokenization when the config asks for it and `clean_up`.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false, bool clean_up = true) const;
  std::optional<int64_t> bos_id() const;
  std::optional<int64_t> eos_id() const;

  bool has_chat_template() const { return config_.chat_template.has_value(); }
  /// Render the chat template for `messages` (a JSON list of {"role", "content"}); `kwargs` (an
  /// object) adds template variables such as enable_thinking or tools.
  std::string apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                  const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object()) const;

  /// Copy the files this tokenizer was loaded from into `dir`.
  void save(const std::string& dir) const;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  TokenizerConfig config_;
  std::vector<std::string> files_;  // absolute paths of the files to copy on save
};

}  // namespace unl::tokenizer
