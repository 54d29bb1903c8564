// A SentencePiece tokenizer.model (models that ship no tokenizer.json) through the SentencePiece
// library. Control and unknown pieces written in the text are matched first, as transformers'
// slow tokenizers split on their special tokens, and each text chunk is encoded on its own.
#include "common/error.h"
#include "tokenizer/file_io.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>

namespace unl::tokenizer {
namespace {

class SentencePiece : public Tokenizer {
 public:
  SentencePiece(const std::string& path, bool add_bos, bool add_eos) : add_bos_(add_bos), add_eos_(add_eos) {
    const std::string bytes = read_tokenizer_file(path);
    const auto status = sp_.LoadFromSerializedProto(bytes);
    UNL_CHECK(status.ok(), path + ": not a SentencePiece model (" + status.ToString() + ")",
              "tokenizer.model must be the SentencePiece model file the model was trained with");
    size_ = sp_.GetPieceSize();
    for (int id = 0; id < size_; ++id)
      if (sp_.IsControl(id) || sp_.IsUnknown(id)) specials_.emplace_back(sp_.IdToPiece(id), id);
    // Longest first, so a match at a position is the longest one there.
    std::stable_sort(specials_.begin(), specials_.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }

  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens) const override {
    const std::string clean = unicode::is_valid_utf8(text) ? std::string(text) : unicode::replace_invalid_utf8(text);
    std::vector<int64_t> out;
    if (add_special_tokens && add_bos_ && sp_.bos_id() >= 0) out.push_back(sp_.bos_id());
    size_t chunk = 0;
    for (size_t pos = 0; pos < clean.size();) {
      int match = -1;
      size_t len = 0;
      for (const auto& [piece, id] : specials_) {
        if (!piece.empty() && clean.compare(pos, piece.size(), piece) == 0) {
          match = id;
          len = piece.size();
          break;
        }
      }
      if (match < 0) {
        ++pos;
        continue;
      }
      encode_chunk(std::string_view(clean).substr(chunk, pos - chunk), out);
      out.push_back(match);
      pos += len;
      chunk = pos;
    }
    encode_chunk(std::string_view(clean).substr(chunk), out);
    if (add_special_tokens && add_eos_ && sp_.eos_id() >= 0) out.push_back(sp_.eos_id());
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const override {
    std::vector<int> keep;
    for (int64_t id : ids) {
      UNL_CHECK(id >= 0 && id < size_, "decode: token id " + std::to_string(id) + " is not in the vocabulary (size " +
                                           std::to_string(size_) + ")",
                "the ids were produced by a different tokenizer or model (vocab_size mismatch)");
      if (skip_special_tokens && is_special(id)) continue;
      keep.push_back(static_cast<int>(id));
    }
    std::string text;
    const auto status = sp_.Decode(keep, &text);
    UNL_CHECK(status.ok(), "SentencePiece decode failed: " + status.ToString(), "the ids do not belong to this model");
    return text;
  }

  std::optional<int64_t> token_to_id(const std::string& token) const override {
    const int id = sp_.PieceToId(token);
    if (id == sp_.unk_id() && token != sp_.IdToPiece(id)) return std::nullopt;
    return id;
  }
  std::optional<std::string> id_to_token(int64_t id) const override {
    if (id < 0 || id >= size_) return std::nullopt;
    return sp_.IdToPiece(static_cast<int>(id));
  }
  int64_t vocab_size() const override { return size_; }
  bool is_special(int64_t id) const override {
    return id >= 0 && id < size_ && (sp_.IsControl(static_cast<int>(id)) || sp_.IsUnknown(static_cast<int>(id)));
  }

 private:
  void encode_chunk(std::string_view chunk, std::vector<int64_t>& out) const {
    if (chunk.empty()) return;
    std::vector<int> ids;
    const auto status = sp_.Encode(std::string(chunk), &ids);
    UNL_CHECK(status.ok(), "SentencePiece encode failed: " + status.ToString(), "the text could not be encoded");
    out.insert(out.end(), ids.begin(), ids.end());
  }

  sentencepiece::SentencePieceProcessor sp_;
  int size_ = 0;
  bool add_bos_, add_eos_;
  std::vector<std::pair<std::string, int>> specials_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path, bool add_bos, bool add_eos) {
  return std::make_unique<SentencePiece>(path, add_bos, add_eos);
}

}  // namespace unl::tokenizer
