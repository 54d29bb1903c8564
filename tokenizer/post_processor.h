// Post-processors: the last encode stage, adding the special tokens a model expects around a
// sequence (TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace unl::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  /// Add the special tokens of a single sequence to `ids` (only called with add_special_tokens).
  virtual void process(std::vector<int64_t>& ids) const = 0;
};

/// Build from tokenizer.json's "post_processor" object. `where` is its JSON path for errors.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j, const std::string& where);

}  // namespace unl::tokenizer
