// Decoders: token strings -> text (ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace,
// BPEDecoder, Sequence), each a step over the list of token strings as in tokenizers.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace unl::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  /// One step of the chain; the final text is the concatenation of the last step's strings.
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

/// Build from tokenizer.json's "decoder" object. `where` is its JSON path for errors.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where);

}  // namespace unl::tokenizer
