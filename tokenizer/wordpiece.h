// BERT's tokenizer from a vocab.txt, as transformers' (slow) BertTokenizer does it: BasicTokenizer
// (clean text, CJK splitting, NFC, lower-casing + accent stripping, punctuation splitting) then
// greedy longest-match-first WordPiece with "##" continuations; [CLS] ... [SEP] and truncation.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace unl::tokenizer {

struct WordPieceOptions {
  bool do_lower_case = true;          // lower-case (Python str.lower()) every word
  int strip_accents = -1;             // -1: follow do_lower_case (HF's None); 0: never; 1: always
  bool tokenize_chinese_chars = true; // a space around every CJK ideograph
  int64_t max_input_chars_per_word = 100;  // longer words become [UNK]
  int64_t model_max_length = 512;     // default truncation length, special tokens included
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]";
  std::string pad_token = "[PAD]", mask_token = "[MASK]";
  std::string continuing_subword_prefix = "##";
};

/// A WordPiece tokenizer over a fixed vocabulary. Immutable after construction; thread-safe.
class WordPieceTokenizer {
 public:
  /// `vocab`: one token per line, id = line number (as HF load_vocab: "\n", "\r\n" and "\r" end
  /// lines; a token listed twice maps to its last line). Throws unl::Error when the vocabulary is
  /// empty or lacks the unk/cls/sep tokens.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options = {});
  /// vocab.txt of a file.
  static WordPieceTokenizer from_vocab_file(const std::string& path, WordPieceOptions options = {});
  /// A Hugging Face BERT directory: vocab.txt plus, when present, tokenizer_config.json
  /// (do_lower_case, strip_accents, tokenize_chinese_chars, model_max_length, special tokens).
  static WordPieceTokenizer from_directory(const std::string& dir);

  /// BasicTokenizer.tokenize: the words WordPiece then splits (special tokens kept whole).
  std::vector<std::string> basic_tokenize(const std::string& text) const;
  /// BertTokenizer.tokenize: word pieces, "[UNK]" for words that cannot be covered.
  std::vector<std::string> tokenize(const std::string& text) const;
  /// encode(text, add_special_tokens, max_length, truncation=True): ids of [CLS] pieces [SEP],
  /// the pieces cut to max_length - 2 (max_length <= 0: model_max_length). Without special tokens
  /// the pieces are cut to max_length.
  std::vector<int64_t> encode(const std::string& text, bool add_special_tokens = true,
                              int64_t max_length = 0) const;

  int64_t token_to_id(const std::string& token) const;  ///< unk id when absent
  const std::string& id_to_token(int64_t id) const;     ///< throws on an id outside the vocabulary
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t unk_id() const { return unk_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }
  int64_t pad_id() const { return pad_id_; }  ///< -1 when the vocabulary has no pad token
  const WordPieceOptions& options() const { return options_; }

 private:
  void wordpiece(const std::string& word, std::vector<std::string>& out) const;
  bool is_special(const std::string& token) const;

  WordPieceOptions options_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> ids_;
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
};

}  // namespace unl::tokenizer
