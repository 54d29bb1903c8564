// Models: the third stage of a tokenizer.json pipeline, one pre-tokenized piece -> token ids.
// The vocabulary lives here; added tokens live in AddedVocabulary.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace unl::tokenizer {

class Model {
 public:
  virtual ~Model() = default;
  /// Append the ids of one piece (non-empty, valid UTF-8) to `out`.
  virtual void tokenize(std::string_view piece, std::vector<int64_t>& out) const = 0;
  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  /// The token string of `id`, or nullptr when the model has no such id.
  virtual const std::string* id_to_token(int64_t id) const = 0;
  /// One past the largest id.
  virtual int64_t id_bound() const = 0;
};

/// Limits checked before anything is sized from a file: ids index dense tables.
constexpr int64_t kMaxTokenId = int64_t{1} << 24;

/// Build from tokenizer.json's "model" object (BPE). `where` is its JSON path for errors.
/// `token_count` (model vocabulary + added tokens) bounds the ids the file may use.
std::unique_ptr<Model> make_model(const nlohmann::json& j, const std::string& where, size_t token_count);

/// The id limit a file with `token_count` tokens is allowed: twice its count + 1024, at most
/// kMaxTokenId (real vocabularies are dense; the slack admits a few holes).
int64_t id_limit(size_t token_count);

}  // namespace unl::tokenizer
