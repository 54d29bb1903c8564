// The BPE model of tokenizer.json: vocabulary, ranked merges, byte fallback, unknown token,
// subword prefix/suffix, ignore_merges; merges applied lowest rank first, leftmost on ties.
#pragma once

#include "tokenizer/model.h"

#include <unordered_map>

namespace unl::tokenizer {

class Bpe : public Model {
 public:
  /// From a {"type": "BPE", "vocab": {...}, "merges": [...], ...} object.
  Bpe(const nlohmann::json& j, const std::string& where, size_t token_count);
  ~Bpe() override;

  void tokenize(std::string_view piece, std::vector<int64_t>& out) const override;
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int64_t id) const override;
  int64_t id_bound() const override { return static_cast<int64_t>(tokens_.size()); }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  void merge_word(std::string_view piece, std::vector<int64_t>& out) const;
  int64_t lookup(const std::string& s) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> tokens_;  // id -> token ("" for holes)
  std::vector<bool> present_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left << 32 | right) -> rank, merged id
  std::optional<std::string> unk_token_;
  std::string prefix_, suffix_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::array<int32_t, 256> byte_ids_{};  // "<0xAB>" ids for byte_fallback, -1 when missing
  uint64_t serial_;                      // identifies this model's entries in the per-thread cache
};

}  // namespace unl::tokenizer
