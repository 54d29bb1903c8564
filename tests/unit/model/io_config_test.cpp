// config.json mapping: real Hub configs of each family parse to hand-checked values, every config
// round-trips through config_to_hf_json exactly, and malformed configs name the field and file.
#include "common/error.h"
#include "model/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

namespace {

using nlohmann::json;
using unl::model::config_from_hf_json;
using unl::model::config_to_hf_json;
using unl::model::Family;
using unl::model::ModelConfig;

// EleutherAI/gpt-neo-125M config.json as published on the Hub.
const char* kGptNeo125M = R"({
  "activation_function": "gelu_new", "architectures": ["GPTNeoForCausalLM"],
  "attention_dropout": 0, "attention_layers": ["global","local","global","local","global","local",
  "global","local","global","local","global","local"],
  "attention_types": [[["global","local"],6]], "bos_token_id": 50256, "embed_dropout": 0,
  "eos_token_id": 50256, "gradient_checkpointing": false, "hidden_size": 768,
  "initializer_range": 0.02, "intermediate_size": null, "layer_norm_epsilon": 1e-05,
  "max_position_embeddings": 2048, "model_type": "gpt_neo", "num_heads": 12, "num_layers": 12,
  "resid_dropout": 0, "summary_activation": null, "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true, "summary_type": "cls_index", "summary_use_proj": true,
  "transformers_version": "4.9.0.dev0", "use_cache": true, "vocab_size": 50257, "window_size": 256})";

// openai-community/gpt2 config.json (abridged to the fields that matter plus a few extras).
const char* kGpt2 = R"({
  "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
  "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
  "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "vocab_size": 50257})";

// TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json.
const char* kTinyLlama = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1,
  "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 5632, "max_position_embeddings": 2048, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 22, "num_key_value_heads": 4,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.35.0",
  "use_cache": true, "vocab_size": 32000})";

// Qwen/Qwen2-0.5B config.json.
const char* kQwen2 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 131072, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 131072, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

// mistralai/Mistral-7B-v0.1 config.json.
const char* kMistral = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_cache": true, "vocab_size": 32000})";

void expect_same(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.family, b.family);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.num_kv_heads, b.num_kv_heads);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.layer_norm_eps, b.layer_norm_eps);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.window_size, b.window_size);
  EXPECT_EQ(a.attention_layers, b.attention_layers);
  EXPECT_EQ(a.activation, b.activation);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.attention_bias, b.attention_bias);
  EXPECT_EQ(a.qkv_bias, b.qkv_bias);
  EXPECT_EQ(a.sliding_window, b.sliding_window);
  EXPECT_EQ(a.model_type, b.model_type);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_id, b.eos_token_id);
  EXPECT_EQ(a.pad_token_id, b.pad_token_id);
  EXPECT_EQ(a.torch_dtype, b.torch_dtype);
}

ModelConfig round_trip(const ModelConfig& c) {
  // Through text, as save/load does.
  return config_from_hf_json(json::parse(config_to_hf_json(c).dump(2)));
}

TEST(Config, GptNeo125M) {
  ModelConfig c = config_from_hf_json(json::parse(kGptNeo125M));
  EXPECT_EQ(c.family, Family::kGptNeo);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_layers, 12);
  EXPECT_EQ(c.num_heads, 12);
  EXPECT_EQ(c.num_kv_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);  // null -> 4 * hidden
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.window_size, 256);
  EXPECT_EQ(c.layer_norm_eps, 1e-5);
  ASSERT_EQ(c.attention_layers.size(), 12u);
  EXPECT_EQ(c.attention_layers[0], "global");
  EXPECT_EQ(c.attention_layers[11], "local");
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, "float32");
  EXPECT_EQ(c.pad_token_id, -1);
  EXPECT_EQ(c.head_dim(), 64);

  json out = config_to_hf_json(c);
  EXPECT_EQ(out["model_type"], "gpt_neo");
  EXPECT_EQ(out["architectures"], json::array({"GPTNeoForCausalLM"}));
  EXPECT_EQ(out["attention_types"], json::parse(R"([[["global","local"],6]])"));
  EXPECT_EQ(out["num_layers"], 12);
  EXPECT_EQ(out["intermediate_size"], 3072);
  EXPECT_EQ(out["torch_dtype"], "float32");
  expect_same(round_trip(c), c);
}

TEST(Config, GptNeoIrregularLayersCompressExactly) {
  ModelConfig c = config_from_hf_json(json::parse(kGptNeo125M));
  c.num_layers = 5;
  c.attention_layers = {"global", "global", "local", "global", "local"};
  c.torch_dtype = "bfloat16";
  c.pad_token_id = 7;
  json out = config_to_hf_json(c);
  EXPECT_EQ(out["attention_types"], json::parse(R"([[["global","global","local","global","local"],1]])"));
  expect_same(round_trip(c), c);
  c.num_layers = 6;
  c.attention_layers = {"local", "local", "local", "local", "local", "local"};
  EXPECT_EQ(config_to_hf_json(c)["attention_types"], json::parse(R"([[["local"],6]])"));
  expect_same(round_trip(c), c);
  // Multiple items expand in order, as HF's expand_attention_types_params does.
  json j = json::parse(kGptNeo125M);
  j.erase("attention_layers");
  j["num_layers"] = 5;
  j["attention_types"] = json::parse(R"([[["global"],2],[["local","global"],1],[["local"],1]])");
  EXPECT_EQ(config_from_hf_json(j).attention_layers,
            (std::vector<std::string>{"global", "global", "local", "global", "local"}));
}

TEST(Config, Gpt2) {
  ModelConfig c = config_from_hf_json(json::parse(kGpt2));
  EXPECT_EQ(c.family, Family::kGpt2);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_layers, 12);
  EXPECT_EQ(c.num_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);  // n_inner absent -> 4 * n_embd
  EXPECT_EQ(c.max_position_embeddings, 1024);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.attention_layers.empty());
  json out = config_to_hf_json(c);
  EXPECT_EQ(out["architectures"], json::array({"GPT2LMHeadModel"}));
  EXPECT_EQ(out["n_embd"], 768);
  EXPECT_EQ(out["n_positions"], 1024);
  EXPECT_FALSE(out.contains("hidden_size"));
  expect_same(round_trip(c), c);
  json j = json::parse(kGpt2);
  j["n_inner"] = 1000;
  EXPECT_EQ(config_from_hf_json(j).intermediate_size, 1000);
}

TEST(Config, LlamaFamily) {
  ModelConfig t = config_from_hf_json(json::parse(kTinyLlama));
  EXPECT_EQ(t.family, Family::kLlama);
  EXPECT_EQ(t.num_layers, 22);
  EXPECT_EQ(t.num_heads, 32);
  EXPECT_EQ(t.num_kv_heads, 4);
  EXPECT_EQ(t.head_dim(), 64);
  EXPECT_EQ(t.intermediate_size, 5632);
  EXPECT_EQ(t.rms_norm_eps, 1e-5);
  EXPECT_EQ(t.rope_theta, 10000.0);
  EXPECT_FALSE(t.tie_word_embeddings);
  EXPECT_FALSE(t.qkv_bias);
  EXPECT_EQ(t.bos_token_id, 1);
  EXPECT_EQ(t.eos_token_id, 2);
  EXPECT_EQ(t.torch_dtype, "bfloat16");
  EXPECT_EQ(t.activation, "silu");
  EXPECT_EQ(t.model_type, "");
  json out = config_to_hf_json(t);
  EXPECT_EQ(out["architectures"], json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(out["model_type"], "llama");
  EXPECT_TRUE(out["rope_scaling"].is_null());
  expect_same(round_trip(t), t);

  ModelConfig q = config_from_hf_json(json::parse(kQwen2));
  EXPECT_EQ(q.model_type, "qwen2");
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_FALSE(q.attention_bias);
  EXPECT_TRUE(q.tie_word_embeddings);
  EXPECT_EQ(q.rope_theta, 1e6);
  EXPECT_EQ(q.sliding_window, -1);  // use_sliding_window false
  EXPECT_EQ(q.num_kv_heads, 2);
  EXPECT_EQ(config_to_hf_json(q)["architectures"], json::array({"Qwen2ForCausalLM"}));
  expect_same(round_trip(q), q);

  ModelConfig m = config_from_hf_json(json::parse(kMistral));
  EXPECT_EQ(m.model_type, "mistral");
  EXPECT_EQ(m.sliding_window, 4096);
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(config_to_hf_json(m)["architectures"], json::array({"MistralForCausalLM"}));
  expect_same(round_trip(m), m);
  json j = json::parse(kMistral);
  j["sliding_window"] = nullptr;
  EXPECT_EQ(config_from_hf_json(j).sliding_window, -1);
  expect_same(round_trip(config_from_hf_json(j)), config_from_hf_json(j));

  // Defaults: num_key_value_heads absent = heads; attention_bias true biases q/k/v too.
  j = json::parse(kTinyLlama);
  j.erase("num_key_value_heads");
  j["attention_bias"] = true;
  j["eos_token_id"] = {5, 6};  // Llama 3 style list: the first is used
  j["pad_token_id"] = nullptr;
  j.erase("torch_dtype");
  j["dtype"] = "float16";  // newer transformers spelling
  ModelConfig d = config_from_hf_json(j);
  EXPECT_EQ(d.num_kv_heads, 32);
  EXPECT_TRUE(d.attention_bias && d.qkv_bias);
  EXPECT_EQ(d.eos_token_id, 5);
  EXPECT_EQ(d.pad_token_id, -1);
  EXPECT_EQ(d.torch_dtype, "float16");
  expect_same(round_trip(d), d);
}

void expect_error(const json& j, const std::vector<std::string>& needles) {
  try {
    config_from_hf_json(j);
    ADD_FAILURE() << "no error; expected " << needles[0];
  } catch (const unl::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "want '" << n << "' in: " << msg;
  }
}

json with(const char* base, const std::string& key, const json& value) {
  json j = json::parse(base);
  if (value.is_discarded()) j.erase(key); else j[key] = value;
  return j;
}
const json kErase = json(json::value_t::discarded);

TEST(Config, RejectsBadConfigs) {
  expect_error(json::array(), {"must be a JSON object"});
  expect_error(with(kGpt2, "model_type", kErase), {"'model_type' is missing"});
  expect_error(with(kGpt2, "model_type", "bert"), {"'model_type'", "\"bert\" is not supported"});
  expect_error(with(kGpt2, "model_type", 3), {"'model_type' must be a string"});
  expect_error(with(kGpt2, "n_embd", kErase), {"'n_embd' is missing"});
  expect_error(with(kGpt2, "n_embd", "768"), {"'n_embd' must be an integer"});
  expect_error(with(kGpt2, "n_embd", 768.5), {"'n_embd' must be an integer"});
  expect_error(with(kGpt2, "n_head", 5), {"num_heads 5 does not divide hidden_size 768"});
  expect_error(with(kGpt2, "layer_norm_epsilon", "small"), {"'layer_norm_epsilon' must be a number"});
  expect_error(with(kGpt2, "tie_word_embeddings", 1), {"'tie_word_embeddings' must be true or false"});
  expect_error(with(kGpt2, "activation_function", "gelu"), {"activation_function 'gelu' is not supported"});
  expect_error(with(kGpt2, "scale_attn_by_inverse_layer_idx", true), {"'scale_attn_by_inverse_layer_idx'", "not supported"});
  expect_error(with(kGpt2, "eos_token_id", 60000), {"token id 60000", "outside the vocabulary"});
  expect_error(with(kGpt2, "torch_dtype", "float8"), {"torch_dtype 'float8'"});
  expect_error(with(kGpt2, "n_layer", 0), {"num_layers must be positive"});
  expect_error(with(kGptNeo125M, "num_layers", 10), {"'attention_types' expands to 12 layers but num_layers is 10"});
  expect_error(with(kGptNeo125M, "attention_types", json::parse(R"([["global",6]])")), {"'attention_types'"});
  expect_error(with(kGptNeo125M, "attention_types", "global"), {"'attention_types'"});
  json neo = with(kGptNeo125M, "attention_types", json::parse(R"([[["global","sparse"],6]])"));
  neo.erase("attention_layers");
  expect_error(neo, {"attention_layers[1] is 'sparse'"});
  expect_error(with(kGptNeo125M, "attention_layers", json::array({"local"})), {"'attention_layers' disagrees"});
  expect_error(with(kGptNeo125M, "num_heads", 7), {"does not divide hidden_size"});
  expect_error(with(kTinyLlama, "num_key_value_heads", 5), {"num_kv_heads 5 does not divide num_heads 32"});
  expect_error(with(kTinyLlama, "rope_scaling", json::parse(R"({"type":"linear","factor":2.0})")),
               {"'rope_scaling'", "not supported"});
  expect_error(with(kTinyLlama, "intermediate_size", kErase), {"'intermediate_size' is missing"});
  expect_error(with(kTinyLlama, "hidden_act", "gelu"), {"hidden_act 'gelu'"});
  expect_error(with(kTinyLlama, "mlp_bias", true), {"'mlp_bias'", "not supported"});
  expect_error(with(kTinyLlama, "head_dim", 128), {"'head_dim'", "not supported"});
  expect_error(with(kTinyLlama, "eos_token_id", json::array()), {"'eos_token_id' is an empty list"});
  expect_error(with(kQwen2, "use_sliding_window", true), {"'use_sliding_window'"});
}

TEST(Config, LoadNamesTheFile) {
  char tmpl[] = "/tmp/unl_io_cfg_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/config.json";
  std::ofstream(path) << R"({"model_type": "gpt2", "n_embd": 768})";
  try {
    unl::model::load_hf_config(path);
    ADD_FAILURE() << "no error";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": field 'vocab_size' is missing"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "{not json";
  EXPECT_THROW(unl::model::load_hf_config(path), unl::Error);
  EXPECT_THROW(unl::model::load_hf_config(dir + "/missing.json"), unl::Error);
  std::ofstream(path) << kGpt2;
  EXPECT_EQ(unl::model::load_hf_config(path).hidden_size, 768);
}

// config.json is read whole and parsed: one over 16 MiB is refused from its size first.
TEST(ConfigLimits, OversizedConfigIsRefusedBeforeParsing) {
  char tmpl[] = "/tmp/unl_io_cfg_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/config.json";
  std::ofstream(path) << kGpt2;
  std::filesystem::resize_file(path, (uint64_t{16} << 20) + 1);  // sparse
  try {
    unl::model::load_hf_config(path);
    ADD_FAILURE() << "no error";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": 16777217 bytes exceeds the config.json limit of 16777216 bytes"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

// Integers past the caps are refused naming the field; the default MLP width 4 x n_embd is
// taken before the cap is checked and must not overflow on the way.
TEST(ConfigLimits, HugeIntegersAreRefusedNamingTheField) {
  nlohmann::json j = nlohmann::json::parse(kGpt2);
  j["n_embd"] = int64_t{1} << 62;
  j.erase("n_inner");
  try {
    unl::model::config_from_hf_json(j);
    ADD_FAILURE() << "no error";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_size 4611686018427387904 exceeds the limit of 131072"),
              std::string::npos)
        << e.what();
  }
  j = nlohmann::json::parse(kGpt2);
  j["vocab_size"] = 1000000000;
  EXPECT_THROW(unl::model::config_from_hf_json(j), unl::Error);
}

// GPT-Neo's attention_types repeat count is bounded before it is expanded: an empty pattern
// repeated 2^62 times would spin, a long one allocate.
TEST(ConfigLimits, AttentionTypesRepeatCountIsBounded) {
  nlohmann::json j = nlohmann::json::parse(kGptNeo125M);
  j["attention_types"] = nlohmann::json::parse(R"([[[], 4611686018427387904]])");
  try {
    unl::model::config_from_hf_json(j);
    ADD_FAILURE() << "no error";
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention_types"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("repeats a pattern 4611686018427387904 times, more than the limit of 4096"),
              std::string::npos)
        << e.what();
  }
}

TEST(Config, ValidateAndFamilies) {
  ModelConfig c;  // the defaults describe GPT-Neo 125M except for the layer list
  EXPECT_THROW(c.validate(), unl::Error);
  c.attention_layers.assign(12, "global");
  EXPECT_NO_THROW(c.validate());
  c.family = Family::kLlama;
  c.activation = "silu";
  c.attention_layers.clear();
  c.num_kv_heads = 4;
  EXPECT_NO_THROW(c.validate());
  c.qkv_bias = true;  // llama cannot express q/k/v-only biases
  EXPECT_THROW(c.validate(), unl::Error);
  c.model_type = "qwen2";
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(unl::model::parse_family("gpt-neo"), Family::kGptNeo);
  EXPECT_EQ(unl::model::parse_family("llama"), Family::kLlama);
  EXPECT_EQ(unl::model::family_name(Family::kGpt2), "gpt2");
  EXPECT_THROW(unl::model::parse_family("bert"), unl::UsageError);
}

}  // namespace
