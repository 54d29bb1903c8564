// ModelConfig: the architecture hyper-parameters of the three supported families, mapped from and
// to a Hugging Face config.json so saved models load in `transformers`.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace unl::model {

enum class Family { kGptNeo, kGpt2, kLlama };

/// Hard caps on config.json integers, checked by ModelConfig::validate() before anything is sized
/// from them. Each is well above every published model (vocab 256k, hidden 16k, 126 layers,
/// MLP 53k, 1M-token contexts) and far below what would overflow the shape arithmetic.
constexpr int64_t kMaxVocabSize = int64_t{1} << 24;              // 16,777,216
constexpr int64_t kMaxHiddenSize = int64_t{1} << 17;             // 131,072
constexpr int64_t kMaxNumLayers = 4096;
constexpr int64_t kMaxIntermediateSize = int64_t{1} << 20;       // 1,048,576
constexpr int64_t kMaxPositionEmbeddings = int64_t{1} << 24;     // 16,777,216
/// Largest config.json load_hf_config reads (checked before parsing).
constexpr uint64_t kMaxConfigFileBytes = uint64_t{16} << 20;     // 16 MiB

/// "gpt-neo" | "gpt2" | "llama"; throws unl::UsageError on anything else.
Family parse_family(const std::string& name);
std::string family_name(Family family);

struct ModelConfig {
  Family family = Family::kGptNeo;
  int64_t vocab_size = 50257;
  int64_t hidden_size = 768;            // n_embd / hidden_size
  int64_t num_layers = 12;              // n_layer / num_layers / num_hidden_layers
  int64_t num_heads = 12;               // n_head / num_heads / num_attention_heads
  int64_t num_kv_heads = 12;            // Llama GQA: num_key_value_heads (= num_heads elsewhere)
  int64_t intermediate_size = 3072;     // MLP width (GPT-Neo/GPT-2 default 4*hidden)
  int64_t max_position_embeddings = 2048;
  double layer_norm_eps = 1e-5;         // GPT-Neo / GPT-2 layer_norm_epsilon
  double rms_norm_eps = 1e-6;           // Llama
  double rope_theta = 10000.0;          // Llama
  int64_t window_size = 256;            // GPT-Neo local attention window
  std::vector<std::string> attention_layers;  // GPT-Neo: "global"/"local" per layer (expanded)
  std::string activation = "gelu_new";  // gelu_new (GPT-Neo/GPT-2), silu (Llama)
  bool tie_word_embeddings = true;
  bool attention_bias = false;          // Llama attention_bias: bias on q, k, v AND o_proj
  bool qkv_bias = false;                // bias on q, k, v (Qwen2: always; Llama: = attention_bias)
  int64_t sliding_window = -1;          // Mistral / Qwen2 sliding window; -1: none (full attention)
  std::string model_type;               // Llama-family variant: "mistral" | "qwen2"; empty for
                                        // llama and the other families (written back as read)
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;
  int64_t pad_token_id = -1;            // -1: none in the config; callers use eos
  std::string torch_dtype = "float32";  // as recorded in config.json

  int64_t head_dim() const { return hidden_size / num_heads; }
  /// Throws unl::Error naming the field when values are inconsistent (heads divide hidden, ...).
  void validate() const;
};

/// Parse a Hugging Face config.json (model_type gpt_neo | gpt2 | llama | mistral | qwen2).
/// Unknown model types and missing required fields throw unl::Error naming the field.
ModelConfig config_from_hf_json(const nlohmann::json& j);
ModelConfig load_hf_config(const std::string& path);
/// The config.json `transformers` needs to load a model saved by save_pretrained.
nlohmann::json config_to_hf_json(const ModelConfig& config);

}  // namespace unl::model
