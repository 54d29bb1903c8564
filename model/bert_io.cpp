// BERT config.json parsing and weight loading from a Hugging Face directory: every field
// type-checked, every tensor's name and shape checked against the config before it is used.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "model/bert.h"
#include "model/config.h"
#include "model/json_strict.h"
#include "model/safetensors.h"

namespace unl::model {

namespace fs = std::filesystem;

namespace {

const char* kFixHint = "fix config.json (compare with the model's original config on the Hub)";

int64_t integer(const nlohmann::json& j, const std::string& source, const char* key, int64_t fallback,
                bool required = false) {
  if (!j.contains(key) || j[key].is_null()) {
    UNL_CHECK(!required, source + ": field '" + key + "' is missing (required for a BERT model)", kFixHint);
    return fallback;
  }
  UNL_CHECK(j[key].is_number_integer() && !(j[key].is_number_unsigned() && j[key].get<uint64_t>() > INT64_MAX),
            source + ": field '" + key + "' must be an integer, got " + j[key].dump(), kFixHint);
  return j[key].get<int64_t>();
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

/// The file's key for one of our parameter names: as is or under "bert." (BertFor* checkpoints),
/// LayerNorm weight/bias also as the TF-era gamma/beta.
std::string file_key(const SafetensorsModel& w, const std::string& name) {
  std::vector<std::string> candidates = {name};
  if (ends_with(name, "LayerNorm.weight")) candidates.push_back(name.substr(0, name.size() - 6) + "gamma");
  if (ends_with(name, "LayerNorm.bias")) candidates.push_back(name.substr(0, name.size() - 4) + "beta");
  for (const auto& c : std::vector<std::string>(candidates)) candidates.push_back("bert." + c);
  for (const auto& c : candidates)
    if (w.contains(c)) return c;
  return "";
}

/// Tensors a BERT checkpoint may hold that the encoder does not use.
bool ignorable(const std::string& key) {
  return starts_with(key, "pooler.") || starts_with(key, "bert.pooler.") || starts_with(key, "cls.") ||
         ends_with(key, "embeddings.position_ids");
}

}  // namespace

void BertConfig::validate() const {
  auto positive = [](int64_t v, int64_t cap, const char* key) {
    UNL_CHECK(v > 0 && v <= cap, fmt::format("BERT config: {} = {} is out of range (1..{})", key, v, cap), kFixHint);
  };
  positive(vocab_size, kMaxVocabSize, "vocab_size");
  positive(hidden_size, kMaxHiddenSize, "hidden_size");
  positive(num_attention_heads, kMaxHiddenSize, "num_attention_heads");
  positive(intermediate_size, kMaxIntermediateSize, "intermediate_size");
  positive(max_position_embeddings, kMaxPositionEmbeddings, "max_position_embeddings");
  positive(type_vocab_size, 1024, "type_vocab_size");
  UNL_CHECK(num_hidden_layers >= 0 && num_hidden_layers <= kMaxNumLayers,
            fmt::format("BERT config: num_hidden_layers = {} is out of range", num_hidden_layers), kFixHint);
  UNL_CHECK(hidden_size % num_attention_heads == 0,
            fmt::format("BERT config: hidden_size {} is not a multiple of num_attention_heads {}", hidden_size,
                        num_attention_heads),
            kFixHint);
  UNL_CHECK(layer_norm_eps > 0 && layer_norm_eps < 1, "BERT config: layer_norm_eps must be in (0, 1)", kFixHint);
  UNL_CHECK(hidden_act == "gelu" || hidden_act == "gelu_new" || hidden_act == "gelu_pytorch_tanh" ||
                hidden_act == "relu",
            "BERT config: hidden_act '" + hidden_act + "' is not supported",
            "supported: gelu (exact erf), gelu_new, gelu_pytorch_tanh, relu");
}

BertConfig bert_config_from_json(const nlohmann::json& j, const std::string& source) {
  UNL_CHECK(j.is_object(), source + " is not a JSON object", kFixHint);
  const std::string type = j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>() : "";
  UNL_CHECK(type == "bert", source + ": model_type '" + type + "' is not a BERT model",
            "eval.bertscore_model / neighbours.embedder_model need a BERT encoder (model_type \"bert\"), "
            "e.g. bert-base-uncased or sentence-transformers/all-MiniLM-L6-v2");
  BertConfig c;
  c.vocab_size = integer(j, source, "vocab_size", 0, true);
  c.hidden_size = integer(j, source, "hidden_size", 0, true);
  c.num_hidden_layers = integer(j, source, "num_hidden_layers", 0, true);
  c.num_attention_heads = integer(j, source, "num_attention_heads", 0, true);
  c.intermediate_size = integer(j, source, "intermediate_size", 0, true);
  c.max_position_embeddings = integer(j, source, "max_position_embeddings", 512);
  c.type_vocab_size = integer(j, source, "type_vocab_size", 2);
  c.pad_token_id = integer(j, source, "pad_token_id", 0);
  if (j.contains("layer_norm_eps") && !j["layer_norm_eps"].is_null()) {
    UNL_CHECK(j["layer_norm_eps"].is_number(), source + ": field 'layer_norm_eps' must be a number", kFixHint);
    c.layer_norm_eps = j["layer_norm_eps"].get<double>();
  }
  if (j.contains("hidden_act") && !j["hidden_act"].is_null()) {
    UNL_CHECK(j["hidden_act"].is_string(), source + ": field 'hidden_act' must be a string", kFixHint);
    c.hidden_act = j["hidden_act"].get<std::string>();
  }
  if (j.contains("position_embedding_type") && !j["position_embedding_type"].is_null()) {
    const auto& p = j["position_embedding_type"];
    UNL_CHECK(p.is_string() && p.get<std::string>() == "absolute",
              source + ": position_embedding_type = " + p.dump() + " is not supported (only \"absolute\")",
              "use a BERT model with absolute position embeddings");
  }
  c.validate();
  return c;
}

BertConfig load_bert_config(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  UNL_CHECK(!ec, "cannot read BERT config " + path + ": " + ec.message(),
            "a BERT model directory holds config.json, model.safetensors and vocab.txt");
  UNL_CHECK(size <= kMaxConfigFileBytes, path + " is implausibly large for a config.json", kFixHint);
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return bert_config_from_json(parse_json_strict(text.str(), path + ": ", kFixHint), path);
}

LoadedBert load_bert(const std::string& dir, torch::Dtype dtype, torch::Device device) {
  LoadedBert out;
  out.config = load_bert_config((fs::path(dir) / "config.json").string());
  SafetensorsModel weights(dir);
  // Shapes are checked against the headers first, so a config claiming huge sizes never allocates.
  const BertConfig& c = out.config;
  const int64_t h = c.hidden_size, m = c.intermediate_size;
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"embeddings.word_embeddings.weight", {c.vocab_size, h}},
      {"embeddings.position_embeddings.weight", {c.max_position_embeddings, h}},
      {"embeddings.token_type_embeddings.weight", {c.type_vocab_size, h}},
      {"embeddings.LayerNorm.weight", {h}}, {"embeddings.LayerNorm.bias", {h}}};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* proj : {"query", "key", "value"}) {
      expected.push_back({p + "attention.self." + proj + ".weight", {h, h}});
      expected.push_back({p + "attention.self." + proj + ".bias", {h}});
    }
    expected.push_back({p + "attention.output.dense.weight", {h, h}});
    expected.push_back({p + "attention.output.dense.bias", {h}});
    expected.push_back({p + "attention.output.LayerNorm.weight", {h}});
    expected.push_back({p + "attention.output.LayerNorm.bias", {h}});
    expected.push_back({p + "intermediate.dense.weight", {m, h}});
    expected.push_back({p + "intermediate.dense.bias", {m}});
    expected.push_back({p + "output.dense.weight", {h, m}});
    expected.push_back({p + "output.dense.bias", {h}});
    expected.push_back({p + "output.LayerNorm.weight", {h}});
    expected.push_back({p + "output.LayerNorm.bias", {h}});
  }
  std::set<std::string> used;
  for (const auto& [name, shape] : expected) {
    const std::string key = file_key(weights, name);
    UNL_CHECK(!key.empty(), fmt::format("'{}' lacks the BERT tensor '{}' {}", dir, name, shape_str(shape)),
              "the checkpoint is incomplete or not a BERT model, or config.json claims more layers "
              "(num_hidden_layers) than the weights hold");
    UNL_CHECK(weights.info(key).shape == shape,
              fmt::format("tensor '{}' in '{}' has shape {}, but config.json implies {}", key, dir,
                          shape_str(weights.info(key).shape), shape_str(shape)),
              "the weights do not belong to this config.json (hidden_size, intermediate_size, vocab_size, "
              "max_position_embeddings, type_vocab_size)");
    used.insert(key);
  }
  std::vector<std::string> unexpected;
  for (const auto& key : weights.names())
    if (!used.count(key) && !ignorable(key)) unexpected.push_back(key);
  UNL_CHECK(unexpected.empty(),
            fmt::format("'{}' holds {} tensor(s) a {}-layer BERT encoder does not use, e.g. '{}'", dir,
                        unexpected.size(), c.num_hidden_layers, unexpected.empty() ? "" : unexpected.front()),
            "check num_hidden_layers in config.json matches the weights");
  out.model = BertModel(c);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : out.model->named_parameters()) item.value().set_data(weights.tensor(file_key(weights, item.key()), dtype));
  }
  out.model->to(device);
  out.model->eval();
  return out;
}

}  // namespace unl::model
