// The tokenizer the driver uses: GPT-2 byte-level BPE (vocab.json + merges.txt, embedded GPT-2
// vocabulary) as a fast path, and any model directory with tokenizer.json / tokenizer.model
// through unl::tokenizer (Llama-3, Qwen, Llama-2/Mistral, ...), with its chat template.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace unl::model {

/// Limits on tokenizer files, checked before anything is sized from them: the largest token id
/// (ids index dense tables; also bounded by twice the file's token count + 1024) and the size
/// of vocab.json / merges.txt / tokenizer.json (real ones are a few MB).
constexpr int64_t kMaxTokenId = int64_t{1} << 24;                   // 16,777,216 (= kMaxVocabSize)
constexpr uint64_t kMaxTokenizerFileBytes = uint64_t{1} << 30;      // 1 GiB

class Tokenizer {
 public:
  /// From a model directory: tokenizer.json (any pipeline unl::tokenizer supports) when present,
  /// else vocab.json + merges.txt (GPT-2 byte-level BPE), else a SentencePiece tokenizer.model;
  /// tokenizer_config.json adds the special tokens, clean-up flag and chat template.
  static Tokenizer from_dir(const std::string& dir);
  static Tokenizer from_files(const std::string& vocab_json, const std::string& merges_txt);
  /// The GPT-2 vocabulary compiled into the binary (assets/gpt2, MIT licence).
  static Tokenizer gpt2();
  /// Write files that reload to the same tokenizer: vocab.json, merges.txt and the
  /// tokenizer_config.json transformers expects (GPT-2), or copies of the files it was loaded from.
  void save(const std::string& dir) const;

  /// The default encode: special tokens added as the tokenizer's post-processor says (e.g. a
  /// BOS for Llama); special tokens written in the text are matched either way.
  std::vector<int64_t> encode(std::string_view text) const;
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens) const;
  /// The decoder's output, special tokens kept, no clean-up.
  std::string decode(const std::vector<int64_t>& ids) const;
  /// With clean_up, transformers' clean_up_tokenization is applied when the config asks for it.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens, bool clean_up) const;
  int64_t vocab_size() const;
  int64_t eos_id() const;  // the config's eos_token, else "<|endoftext|>"; -1 when none
  int64_t bos_id() const;  // the config's bos_token; -1 when none
  /// Whether tokenizer_config.json asks decode to clean up spaces before punctuation.
  bool clean_up_tokenization_spaces() const;

  bool has_chat_template() const;
  /// Render the chat template for `messages` ([{"role", "content"}, ...]); `kwargs` (an object)
  /// adds template variables such as enable_thinking. Throws when there is no template.
  std::string apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt) const;
  std::string apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                  const nlohmann::ordered_json& kwargs) const;

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unl::model
