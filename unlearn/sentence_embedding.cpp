// Mean-pooled (optionally normalised) BERT sentence embeddings and the sentence-transformers
// module files that say which of them a model directory wants.
#include "unlearn/sentence_embedding.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace unl::unlearn {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  UNL_CHECK(in.good(), "cannot read " + path.string(), "check the sentence-transformers model directory");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    UNL_THROW(path.string() + " is not valid JSON (" + e.what() + ")", "restore the file from the model's repository");
  }
}

}  // namespace

SentenceEmbeddingOptions sentence_embedding_options(const std::string& dir, const BertEncoder& encoder) {
  SentenceEmbeddingOptions o;
  const int64_t model_max = encoder.tokenizer->options().model_max_length;
  o.max_length = model_max;
  o.normalize = false;
  const fs::path root(dir);
  if (!fs::exists(root / "modules.json")) return o;
  const auto modules = read_json(root / "modules.json");
  UNL_CHECK(modules.is_array(), (root / "modules.json").string() + " is not a list of modules",
            "restore the file from the model's repository");
  fs::path pooling_dir = root / "1_Pooling";
  for (const auto& m : modules) {
    const std::string type = m.value("type", "");
    if (type == "sentence_transformers.models.Normalize") o.normalize = true;
    if (type == "sentence_transformers.models.Pooling" && m.contains("path") && m["path"].is_string())
      pooling_dir = root / m["path"].get<std::string>();
    UNL_CHECK(type == "sentence_transformers.models.Transformer" || type == "sentence_transformers.models.Pooling" ||
                  type == "sentence_transformers.models.Normalize",
              (root / "modules.json").string() + " lists the module '" + type + "', which is not supported",
              "supported: a BERT Transformer, mean Pooling and Normalize (as all-MiniLM-L6-v2)");
  }
  if (fs::exists(pooling_dir / "config.json")) {
    const auto p = read_json(pooling_dir / "config.json");
    for (const char* other : {"pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                              "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
      UNL_CHECK(!p.value(other, false), (pooling_dir / "config.json").string() + " selects " + other,
                "only mean pooling (pooling_mode_mean_tokens) is supported");
    UNL_CHECK(p.value("pooling_mode_mean_tokens", true), (pooling_dir / "config.json").string() + " does not select mean pooling",
              "only mean pooling (pooling_mode_mean_tokens) is supported");
  }
  if (fs::exists(root / "sentence_bert_config.json")) {
    const auto s = read_json(root / "sentence_bert_config.json");
    if (s.contains("max_seq_length") && s["max_seq_length"].is_number_integer())
      o.max_length = std::min<int64_t>(model_max, s["max_seq_length"].get<int64_t>());
  }
  UNL_CHECK(o.max_length >= 2, "sentence embedding max_seq_length must be at least 2", "fix sentence_bert_config.json");
  return o;
}

torch::Tensor sentence_embeddings(const BertEncoder& encoder, const std::vector<std::string>& texts,
                                  const SentenceEmbeddingOptions& options) {
  std::vector<std::vector<int64_t>> seqs;
  seqs.reserve(texts.size());
  for (const auto& t : texts) seqs.push_back(encode_text(encoder, t, options.max_length));
  const auto states = encode_token_states(encoder, seqs, -1, options.batch_size);
  auto out = torch::empty({static_cast<int64_t>(texts.size()), encoder.config.hidden_size});
  for (size_t i = 0; i < states.size(); ++i) {
    auto v = states[i].sum(0) / static_cast<double>(states[i].size(0));
    if (options.normalize) v = v / v.norm(2).clamp_min(1e-12);
    out[static_cast<int64_t>(i)].copy_(v);
  }
  return out;
}

}  // namespace unl::unlearn
