// The BERT encoder of transformers' modeling_bert.py (BertModel without the pooler), for
// BERTScore and sentence embeddings: post-norm layers, exact-erf GELU, parameter names as HF's.
// Also the encoder of sentence-transformers' all-MiniLM-L6-v2 (model_type "bert").
#pragma once

#include <torch/torch.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace unl::model {

/// config.json of a BERT model (model_type "bert"). Anything the encoder below does not
/// reproduce (relative position embeddings, other activations) is refused by name.
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";  // gelu (exact erf) | gelu_new | gelu_pytorch_tanh | relu
  int64_t pad_token_id = 0;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  /// Throws unl::Error naming the field when sizes are non-positive, too large or inconsistent.
  void validate() const;
};

/// Parses a BERT config.json object; `source` names the file in errors.
BertConfig bert_config_from_json(const nlohmann::json& j, const std::string& source);
BertConfig load_bert_config(const std::string& path);

/// word + position (0..T-1) + token-type embeddings, then LayerNorm.
class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids);
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // HF's name
};
TORCH_MODULE(BertEmbeddings);

/// attention.self: query/key/value projections and softmax(q k^T / sqrt(d) + mask) v.
class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit BertSelfAttentionImpl(const BertConfig& config);
  /// `additive_mask`: [B, 1, 1, T], 0 for keys to attend, finfo.min for padding (HF's extended mask).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  int64_t heads;
};
TORCH_MODULE(BertSelfAttention);

/// attention.output and output: dense, then LayerNorm(dense(x) + residual) (post-norm).
class BertResidualOutputImpl : public torch::nn::Module {
 public:
  BertResidualOutputImpl(int64_t in_features, const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // HF's name
};
TORCH_MODULE(BertResidualOutput);

/// "attention": self + output.
class BertAttentionImpl : public torch::nn::Module {
 public:
  explicit BertAttentionImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);
  BertSelfAttention self{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

/// "intermediate": dense + activation.
class BertIntermediateImpl : public torch::nn::Module {
 public:
  explicit BertIntermediateImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear dense{nullptr};
  std::string act;
};
TORCH_MODULE(BertIntermediate);

/// One encoder layer ("encoder.layer.N"): attention, intermediate, output.
class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);
  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

/// "encoder": the layer list.
class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& config);
  torch::nn::ModuleList layer{nullptr};
  std::vector<BertLayer> blocks;
};
TORCH_MODULE(BertEncoder);

/// BertModel: embeddings + encoder.layer.N. Parameter names equal HF's ("embeddings.LayerNorm.weight",
/// "encoder.layer.0.attention.self.query.weight", ...), so named_parameters() are checkpoint keys.
class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& config);
  /// Hidden states for input_ids [B, T] (right padded; positions are 0..T-1 as in HF) and
  /// attention_mask [B, T] (1 = token, 0 = padding; undefined = all ones): element 0 is the
  /// embeddings output, element l the output of layer l. `num_layers` >= 0 stops after that many
  /// layers (BERTScore needs only the first 9 of bert-base's 12); -1 runs all.
  /// token_type_ids undefined = zeros.
  std::vector<torch::Tensor> forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                     int64_t num_layers = -1,
                                     const torch::Tensor& token_type_ids = torch::Tensor());
  const BertConfig& config() const { return config_; }

  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertModel);

struct LoadedBert {
  BertConfig config;
  BertModel model{nullptr};
};

/// A Hugging Face BERT directory: config.json + model.safetensors (or sharded + index). Accepts
/// BertModel checkpoints ("embeddings.…") and BertFor* ones ("bert.embeddings.…"), LayerNorm
/// "weight"/"bias" or the old "gamma"/"beta"; ignores the pooler, heads ("cls.…") and the
/// position_ids buffer; any other tensor, a missing one or a wrong shape is an error naming it.
/// The model is returned in eval mode.
LoadedBert load_bert(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                     torch::Device device = torch::kCPU);

}  // namespace unl::model
