// Hugging Face config.json <-> ModelConfig for GPT-Neo, GPT-2 and the Llama family (Llama,
// Mistral, Qwen2). Every field is type-checked; anything the networks cannot reproduce exactly
// (rope_scaling, exact-erf GELU, per-layer attention scaling, ...) is refused by name.
#include "model/config.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace unl::model {
namespace {

using nlohmann::json;

const char* kFixHint = "fix config.json (compare with the model's original config on the Hub)";

// Reads typed fields of one config object and names the source file in every error.
class Fields {
 public:
  Fields(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& raw(const char* key) const { return j_.at(key); }
  [[noreturn]] void fail(const std::string& key, const std::string& problem,
                         const char* hint = kFixHint) const {
    UNL_THROW(source_ + ": field '" + key + "' " + problem, hint);
  }

  int64_t integer(const char* key) const {
    if (!has(key)) fail(key, "is missing or null (required for this model_type)");
    return as_int(key, raw(key));
  }
  int64_t integer(const char* key, int64_t fallback) const {
    return has(key) ? as_int(key, raw(key)) : fallback;
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!raw(key).is_number()) fail(key, "must be a number, got " + raw(key).dump());
    return raw(key).get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!raw(key).is_boolean()) fail(key, "must be true or false, got " + raw(key).dump());
    return raw(key).get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!raw(key).is_string()) fail(key, "must be a string, got " + raw(key).dump());
    return raw(key).get<std::string>();
  }
  // Absent: `fallback`; null: -1 (HF's None).
  int64_t nullable_integer(const char* key, int64_t fallback) const {
    if (!j_.contains(key)) return fallback;
    return raw(key).is_null() ? -1 : as_int(key, raw(key));
  }
  // Token ids may be null (none: -1) or, for some Llama checkpoints, a list (first one used).
  int64_t token_id(const char* key, int64_t fallback) const {
    if (!j_.contains(key)) return fallback;
    const json& v = raw(key);
    if (v.is_null()) return -1;
    if (v.is_array()) {
      if (v.empty()) fail(key, "is an empty list");
      return as_int(key, v.at(0));
    }
    return as_int(key, v);
  }
  // Must be absent, null or equal to `expected`: settings the networks do not implement.
  void unsupported_unless(const char* key, const json& expected, const std::string& why) const {
    if (has(key) && raw(key) != expected)
      fail(key, "= " + raw(key).dump() + " is not supported (" + why + ")",
           "use a model without this setting, or convert it first");
  }

 private:
  int64_t as_int(const std::string& key, const json& v) const {
    if (!v.is_number_integer()) fail(key, "must be an integer, got " + v.dump());
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail(key, "is too large");
    return v.get<int64_t>();
  }
  const json& j_;
  std::string source_;
};

std::string torch_dtype_of(const Fields& f) {
  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
  if (f.has("torch_dtype")) return f.string("torch_dtype", "float32");
  return f.string("dtype", "float32");
}

// The default MLP width 4 x hidden, saturating: hidden_size comes from the file and is only
// capped by validate(), after this default is taken.
int64_t four_times(int64_t hidden) {
  return hidden > std::numeric_limits<int64_t>::max() / 4 ? std::numeric_limits<int64_t>::max() : 4 * hidden;
}

void parse_gpt_neo(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.integer("vocab_size");
  c.hidden_size = f.integer("hidden_size");
  c.num_layers = f.integer("num_layers");
  c.num_heads = f.integer("num_heads");
  c.num_kv_heads = c.num_heads;
  c.intermediate_size = f.integer("intermediate_size", four_times(c.hidden_size));
  c.max_position_embeddings = f.integer("max_position_embeddings", 2048);
  c.layer_norm_eps = f.number("layer_norm_epsilon", 1e-5);
  c.window_size = f.integer("window_size", 256);
  c.activation = f.string("activation_function", "gelu_new");
  c.bos_token_id = f.token_id("bos_token_id", 50256);
  c.eos_token_id = f.token_id("eos_token_id", 50256);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  // HF's compressed form: [[["global", "local"], 6]] repeats the pattern 6 times.
  json types = f.has("attention_types") ? f.raw("attention_types")
                                        : json::parse(R"([[["global","local"],12]])");
  const char* bad = "must be a list of [[\"global\"|\"local\", ...], count] items";
  if (!types.is_array()) f.fail("attention_types", bad);
  c.attention_layers.clear();
  for (const json& item : types) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_array() ||
        !item[1].is_number_integer() || item[1].get<int64_t>() < 0)
      f.fail("attention_types", std::string(bad) + ", got item " + item.dump());
    // Bound the repeat count before looping over it: an empty pattern repeated 2^62 times
    // would otherwise spin, and a long one would allocate.
    if (item[1].get<int64_t>() > kMaxNumLayers)
      f.fail("attention_types", "repeats a pattern " + std::to_string(item[1].get<int64_t>()) +
                                    " times, more than the limit of " + std::to_string(kMaxNumLayers) + " layers");
    for (int64_t r = 0; r < item[1].get<int64_t>(); ++r) {
      for (const json& kind : item[0]) {
        if (!kind.is_string()) f.fail("attention_types", std::string(bad) + ", got " + kind.dump());
        c.attention_layers.push_back(kind.get<std::string>());
      }
      if (static_cast<int64_t>(c.attention_layers.size()) > kMaxNumLayers)
        f.fail("attention_types", "expands to an absurd number of layers");
    }
  }
  if (f.has("attention_layers") && f.raw("attention_layers") != json(c.attention_layers))
    f.fail("attention_layers", "disagrees with attention_types " + types.dump());
  if (static_cast<int64_t>(c.attention_layers.size()) != c.num_layers)
    f.fail("attention_types", "expands to " + std::to_string(c.attention_layers.size()) +
                                  " layers but num_layers is " + std::to_string(c.num_layers));
}

void parse_gpt2(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.integer("vocab_size");
  c.hidden_size = f.integer("n_embd");
  c.num_layers = f.integer("n_layer");
  c.num_heads = f.integer("n_head");
  c.num_kv_heads = c.num_heads;
  c.intermediate_size = f.integer("n_inner", four_times(c.hidden_size));
  c.max_position_embeddings = f.integer("n_positions", 1024);
  c.layer_norm_eps = f.number("layer_norm_epsilon", 1e-5);
  c.activation = f.string("activation_function", "gelu_new");
  c.bos_token_id = f.token_id("bos_token_id", 50256);
  c.eos_token_id = f.token_id("eos_token_id", 50256);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
  f.unsupported_unless("scale_attn_weights", true, "GPT-2 attention always scales by 1/sqrt(d)");
  f.unsupported_unless("scale_attn_by_inverse_layer_idx", false, "per-layer score scaling");
  f.unsupported_unless("reorder_and_upcast_attn", false, "upcast attention variant");
}

void parse_llama(const Fields& f, const std::string& model_type, ModelConfig& c) {
  c.vocab_size = f.integer("vocab_size");
  c.hidden_size = f.integer("hidden_size");
  c.num_layers = f.integer("num_hidden_layers");
  c.num_heads = f.integer("num_attention_heads");
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_heads);
  c.intermediate_size = f.integer("intermediate_size");
  c.max_position_embeddings = f.integer("max_position_embeddings", 2048);
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  c.rope_theta = f.number("rope_theta", 10000.0);
  c.activation = f.string("hidden_act", "silu");
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  c.bos_token_id = f.token_id("bos_token_id", 1);
  c.eos_token_id = f.token_id("eos_token_id", 2);
  c.attention_layers.clear();
  if (f.has("rope_scaling"))
    f.fail("rope_scaling", "= " + f.raw("rope_scaling").dump() +
                               " is not supported (only plain RoPE is implemented)",
           "use a model with \"rope_scaling\": null");
  f.unsupported_unless("mlp_bias", false, "biases in the MLP");
  if (f.has("head_dim") && c.num_heads > 0 && f.integer("head_dim") != c.hidden_size / c.num_heads)
    f.unsupported_unless("head_dim", c.hidden_size / c.num_heads,
                         "head_dim must equal hidden_size / num_attention_heads");
  if (model_type == "qwen2") {
    // Qwen2 always biases q/k/v and never o_proj; its config has no attention_bias switch.
    c.attention_bias = false;
    c.qkv_bias = true;
    if (f.boolean("use_sliding_window", false))
      f.fail("use_sliding_window", "= true is not supported (per-layer sliding windows)",
             "use a Qwen2 model with \"use_sliding_window\": false");
    c.sliding_window = -1;
  } else {
    c.attention_bias = f.boolean("attention_bias", false);
    c.qkv_bias = c.attention_bias;
    // MistralConfig's default window is 4096; null disables it.
    c.sliding_window = model_type == "mistral" ? f.nullable_integer("sliding_window", 4096) : -1;
  }
}

// The smallest repeating pattern of the per-layer kinds, in HF's [[pattern, count]] form.
json compress_attention_layers(const std::vector<std::string>& layers) {
  const size_t n = layers.size();
  for (size_t p = 1; p <= n; ++p) {
    if (n % p) continue;
    bool periodic = true;
    for (size_t i = p; i < n && periodic; ++i) periodic = layers[i] == layers[i % p];
    if (periodic)
      return json::array({json::array({std::vector<std::string>(layers.begin(), layers.begin() + p),
                                       n / p})});
  }
  return json::array();
}

json token_json(int64_t id) { return id < 0 ? json(nullptr) : json(id); }

std::string canonical_model_type(const ModelConfig& c) {
  switch (c.family) {
    case Family::kGptNeo: return "gpt_neo";
    case Family::kGpt2: return "gpt2";
    case Family::kLlama: return c.model_type.empty() ? "llama" : c.model_type;
  }
  return "llama";
}

ModelConfig parse_config(const json& j, const std::string& source) {
  UNL_CHECK(j.is_object(), source + ": must be a JSON object, got " + std::string(j.type_name()),
            kFixHint);
  Fields f(j, source);
  if (!f.has("model_type")) f.fail("model_type", "is missing");
  const std::string type = f.string("model_type", "");
  ModelConfig c;
  c.model_type = type == "mistral" || type == "qwen2" ? type : "";
  if (type == "gpt_neo") {
    c.family = Family::kGptNeo;
    parse_gpt_neo(f, c);
  } else if (type == "gpt2") {
    c.family = Family::kGpt2;
    parse_gpt2(f, c);
  } else if (type == "llama" || type == "mistral" || type == "qwen2") {
    c.family = Family::kLlama;
    parse_llama(f, type, c);
  } else {
    f.fail("model_type", "= \"" + type + "\" is not supported",
           "supported model types: gpt_neo, gpt2, llama, mistral, qwen2");
  }
  c.pad_token_id = f.token_id("pad_token_id", -1);
  c.torch_dtype = torch_dtype_of(f);
  try {
    c.validate();
  } catch (const Error& e) {
    UNL_THROW(source + ": " + e.description(), e.hint());
  }
  return c;
}

}  // namespace

Family parse_family(const std::string& name) {
  if (name == "gpt-neo") return Family::kGptNeo;
  if (name == "gpt2") return Family::kGpt2;
  if (name == "llama") return Family::kLlama;
  UNL_USAGE_ERROR("unknown model family '" + name + "'", "use one of: gpt-neo, gpt2, llama");
}

std::string family_name(Family family) {
  switch (family) {
    case Family::kGptNeo: return "gpt-neo";
    case Family::kGpt2: return "gpt2";
    case Family::kLlama: return "llama";
  }
  return "unknown";
}

void ModelConfig::validate() const {
  auto positive = [](int64_t v, const char* name) {
    UNL_CHECK(v > 0, std::string("model config: ") + name + " must be positive, got " +
                         std::to_string(v),
              kFixHint);
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(num_layers, "num_layers");
  positive(num_heads, "num_heads");
  positive(num_kv_heads, "num_kv_heads");
  positive(intermediate_size, "intermediate_size");
  positive(max_position_embeddings, "max_position_embeddings");
  // A hostile or mistyped config.json must not size terabytes of parameters: cap each integer
  // that a tensor dimension comes from (load_pretrained also checks every shape against the
  // weight files before building the model).
  auto capped = [](int64_t v, int64_t cap, const char* name) {
    UNL_CHECK(v <= cap,
              std::string("model config: ") + name + " " + std::to_string(v) + " exceeds the limit of " +
                  std::to_string(cap),
              std::string("the value is corrupt or a typo (no real model comes near the limit); fix ") + name +
                  " in config.json");
  };
  capped(vocab_size, kMaxVocabSize, "vocab_size");
  capped(hidden_size, kMaxHiddenSize, "hidden_size");
  capped(num_layers, kMaxNumLayers, "num_layers");
  capped(intermediate_size, kMaxIntermediateSize, "intermediate_size");
  capped(max_position_embeddings, kMaxPositionEmbeddings, "max_position_embeddings");
  UNL_CHECK(hidden_size % num_heads == 0,
            "model config: num_heads " + std::to_string(num_heads) + " does not divide hidden_size " +
                std::to_string(hidden_size),
            kFixHint);
  UNL_CHECK(num_heads % num_kv_heads == 0,
            "model config: num_kv_heads " + std::to_string(num_kv_heads) +
                " does not divide num_heads " + std::to_string(num_heads),
            kFixHint);
  UNL_CHECK(family == Family::kLlama || num_kv_heads == num_heads,
            "model config: num_kv_heads must equal num_heads for " + family_name(family), kFixHint);
  const double eps = family == Family::kLlama ? rms_norm_eps : layer_norm_eps;
  UNL_CHECK(eps > 0, std::string("model config: ") +
                         (family == Family::kLlama ? "rms_norm_eps" : "layer_norm_epsilon") +
                         " must be positive",
            kFixHint);
  for (int64_t id : {bos_token_id, eos_token_id, pad_token_id})
    UNL_CHECK(id >= -1 && id < vocab_size,
              "model config: token id " + std::to_string(id) + " (bos/eos/pad) is outside the vocabulary of " +
                  std::to_string(vocab_size),
              kFixHint);
  static const std::set<std::string> kDtypes = {"float32", "float16", "bfloat16"};
  UNL_CHECK(kDtypes.count(torch_dtype),
            "model config: torch_dtype '" + torch_dtype + "' is not supported",
            "use float32, float16 or bfloat16");
  if (family == Family::kLlama) {
    UNL_CHECK(activation == "silu" || activation == "swish",
              "model config: hidden_act '" + activation + "' is not supported",
              "Llama-family models must use silu");
    UNL_CHECK(rope_theta > 0, "model config: rope_theta must be positive", kFixHint);
    UNL_CHECK(!attention_bias || qkv_bias,
              "model config: attention_bias implies q/k/v biases (qkv_bias)", kFixHint);
    UNL_CHECK(sliding_window == -1 || sliding_window > 0,
              "model config: sliding_window must be positive or null", kFixHint);
    static const std::set<std::string> kTypes = {"", "mistral", "qwen2"};
    UNL_CHECK(kTypes.count(model_type), "model config: model_type '" + model_type +
                                            "' is not a Llama-family variant",
              "leave model_type empty for llama, or use mistral or qwen2");
    // What each HF architecture can express: Qwen2 biases exactly q/k/v, Llama/Mistral all four
    // or none; Mistral alone has a single global sliding window.
    if (model_type == "qwen2")
      UNL_CHECK(qkv_bias && !attention_bias,
                "model config: qwen2 has q/k/v biases (qkv_bias true) and no o_proj bias "
                "(attention_bias false)",
                kFixHint);
    else
      UNL_CHECK(qkv_bias == attention_bias,
                "model config: qkv_bias must equal attention_bias for llama/mistral", kFixHint);
    UNL_CHECK(model_type == "mistral" || sliding_window == -1,
              "model config: sliding_window is only supported for mistral", kFixHint);
  } else {
    static const std::set<std::string> kActs = {"gelu_new", "gelu_fast", "gelu_pytorch_tanh"};
    UNL_CHECK(kActs.count(activation),
              "model config: activation_function '" + activation + "' is not supported",
              "GPT-Neo/GPT-2 networks implement the tanh GELU (gelu_new)");
    UNL_CHECK(!attention_bias && !qkv_bias && sliding_window == -1 && model_type.empty(),
              "model config: attention_bias/qkv_bias/sliding_window/model_type are Llama-family "
              "settings",
              kFixHint);
  }
  if (family == Family::kGptNeo) {
    UNL_CHECK(static_cast<int64_t>(attention_layers.size()) == num_layers,
              "model config: attention_layers has " + std::to_string(attention_layers.size()) +
                  " entries but num_layers is " + std::to_string(num_layers),
              kFixHint);
    for (size_t i = 0; i < attention_layers.size(); ++i)
      UNL_CHECK(attention_layers[i] == "global" || attention_layers[i] == "local",
                "model config: attention_layers[" + std::to_string(i) + "] is '" +
                    attention_layers[i] + "'",
                "each layer must be \"global\" or \"local\"");
    positive(window_size, "window_size");
  }
}

ModelConfig config_from_hf_json(const nlohmann::json& j) { return parse_config(j, "config.json"); }

ModelConfig load_hf_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNL_CHECK(in.good(), path + ": cannot open",
            "point the model path at a Hugging Face model directory containing config.json");
  // Checked before parsing: a config.json is a few KB, and the parsed JSON is several times
  // the file's size.
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  UNL_CHECK(ec || bytes <= kMaxConfigFileBytes,
            path + ": " + std::to_string(bytes) + " bytes exceeds the config.json limit of " +
                std::to_string(kMaxConfigFileBytes) + " bytes",
            "config.json holds a few dozen settings (a few KB); the file is corrupt or not a model config");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    UNL_THROW(path + ": not valid JSON (" + e.what() + ")", kFixHint);
  }
  return parse_config(j, path);
}

nlohmann::json config_to_hf_json(const ModelConfig& c) {
  c.validate();
  json j;
  const std::string type = canonical_model_type(c);
  j["model_type"] = type;
  j["vocab_size"] = c.vocab_size;
  j["bos_token_id"] = token_json(c.bos_token_id);
  j["eos_token_id"] = token_json(c.eos_token_id);
  if (c.pad_token_id >= 0) j["pad_token_id"] = c.pad_token_id;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  switch (c.family) {
    case Family::kGptNeo:
      j["architectures"] = {"GPTNeoForCausalLM"};
      j["hidden_size"] = c.hidden_size;
      j["num_layers"] = c.num_layers;
      j["num_heads"] = c.num_heads;
      j["intermediate_size"] = c.intermediate_size;
      j["max_position_embeddings"] = c.max_position_embeddings;
      j["layer_norm_epsilon"] = c.layer_norm_eps;
      j["window_size"] = c.window_size;
      j["attention_types"] = compress_attention_layers(c.attention_layers);
      j["attention_layers"] = c.attention_layers;
      j["activation_function"] = c.activation;
      break;
    case Family::kGpt2:
      j["architectures"] = {"GPT2LMHeadModel"};
      j["n_embd"] = c.hidden_size;
      j["n_layer"] = c.num_layers;
      j["n_head"] = c.num_heads;
      j["n_inner"] = c.intermediate_size;
      j["n_positions"] = c.max_position_embeddings;
      j["n_ctx"] = c.max_position_embeddings;
      j["layer_norm_epsilon"] = c.layer_norm_eps;
      j["activation_function"] = c.activation;
      break;
    case Family::kLlama:
      j["architectures"] = {type == "mistral" ? "MistralForCausalLM"
                            : type == "qwen2" ? "Qwen2ForCausalLM"
                                              : "LlamaForCausalLM"};
      j["hidden_size"] = c.hidden_size;
      j["num_hidden_layers"] = c.num_layers;
      j["num_attention_heads"] = c.num_heads;
      j["num_key_value_heads"] = c.num_kv_heads;
      j["intermediate_size"] = c.intermediate_size;
      j["max_position_embeddings"] = c.max_position_embeddings;
      j["rms_norm_eps"] = c.rms_norm_eps;
      j["rope_theta"] = c.rope_theta;
      j["rope_scaling"] = nullptr;
      j["hidden_act"] = c.activation;
      if (type == "qwen2") {
        j["use_sliding_window"] = false;
      } else {
        j["attention_bias"] = c.attention_bias;
        j["mlp_bias"] = false;
      }
      if (type == "mistral") j["sliding_window"] = token_json(c.sliding_window);
      break;
  }
  return j;
}

}  // namespace unl::model
