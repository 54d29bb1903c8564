// GPT-2 byte-level BPE tokenizer (vocab.json + merges.txt, or tokenizer.json of the same type),
// exact on Unicode, whitespace and contractions. The GPT-2 vocabulary is embedded in the binary.
#pragma once

#include <cstdint>
#include <memory>
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
  /// From a directory holding vocab.json + merges.txt, or tokenizer.json (type BPE, ByteLevel).
  static Tokenizer from_dir(const std::string& dir);
  static Tokenizer from_files(const std::string& vocab_json, const std::string& merges_txt);
  /// The GPT-2 vocabulary compiled into the binary (assets/gpt2, MIT licence).
  static Tokenizer gpt2();
  /// Write vocab.json, merges.txt (and the tokenizer_config.json transformers expects) to dir.
  void save(const std::string& dir) const;

  std::vector<int64_t> encode(std::string_view text) const;
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t vocab_size() const;
  int64_t eos_id() const;  // "<|endoftext|>"

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unl::model
