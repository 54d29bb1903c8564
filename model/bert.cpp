// BERT encoder forward as transformers' modeling_bert.py (eager attention): embeddings LayerNorm,
// scores / sqrt(head_dim) plus the additive (1 - mask) * finfo.min mask, post-norm residuals.
#include "model/bert.h"

#include <fmt/format.h>

#include <cmath>

#include "common/error.h"
#include "model/nets_common.h"

namespace unl::model {

namespace {

torch::nn::LayerNorm layer_norm(const BertConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

torch::nn::Linear linear(int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out)); }

}  // namespace

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& c) {
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embeddings =
      register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  token_type_embeddings =
      register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
  LayerNorm = register_module("LayerNorm", layer_norm(c));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids) {
  const int64_t T = input_ids.size(1);
  auto positions = torch::arange(T, input_ids.options().dtype(torch::kInt64)).unsqueeze(0);
  auto types = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
  // HF's order: (word + token_type) + position.
  auto x = word_embeddings->forward(input_ids) + token_type_embeddings->forward(types);
  x = x + position_embeddings->forward(positions);
  return LayerNorm->forward(x);
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& c) : heads(c.num_attention_heads) {
  query = register_module("query", linear(c.hidden_size, c.hidden_size));
  key = register_module("key", linear(c.hidden_size, c.hidden_size));
  value = register_module("value", linear(c.hidden_size, c.hidden_size));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  auto q = detail::split_heads(query->forward(x), heads);
  auto k = detail::split_heads(key->forward(x), heads);
  auto v = detail::split_heads(value->forward(x), heads);
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(q.size(-1)));
  scores = scores + additive_mask;
  return detail::merge_heads(torch::matmul(torch::softmax(scores, -1), v));
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in_features, const BertConfig& c) {
  dense = register_module("dense", linear(in_features, c.hidden_size));
  LayerNorm = register_module("LayerNorm", layer_norm(c));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm->forward(dense->forward(x) + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& c) {
  self = register_module("self", BertSelfAttention(c));
  output = register_module("output", BertResidualOutput(c.hidden_size, c));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  return output->forward(self->forward(x, additive_mask), x);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& c) : act(c.hidden_act) {
  dense = register_module("dense", linear(c.hidden_size, c.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& x) {
  auto h = dense->forward(x);
  if (act == "gelu") return torch::gelu(h);  // exact: 0.5 x (1 + erf(x / sqrt 2))
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") return torch::gelu(h, "tanh");
  return torch::relu(h);  // validate() admits nothing else
}

BertLayerImpl::BertLayerImpl(const BertConfig& c) {
  attention = register_module("attention", BertAttention(c));
  intermediate = register_module("intermediate", BertIntermediate(c));
  output = register_module("output", BertResidualOutput(c.intermediate_size, c));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  auto a = attention->forward(x, additive_mask);
  return output->forward(intermediate->forward(a), a);
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& c) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    blocks.push_back(BertLayer(c));
    layer->push_back(blocks.back());
  }
}

BertModelImpl::BertModelImpl(const BertConfig& config) : config_(config) {
  config_.validate();
  embeddings = register_module("embeddings", BertEmbeddings(config_));
  encoder = register_module("encoder", BertEncoder(config_));
  // HF _init_weights for BertPreTrainedModel: normal(0, 0.02) weights, zero biases, unit LayerNorm.
  // (init_hf_weights recognises norms by lower-case names; BERT's are "LayerNorm".)
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) item.value().zero_();
    else if (name.find("LayerNorm.") != std::string::npos) item.value().fill_(1.0);
    else item.value().normal_(0.0, 0.02);
  }
  eval();
}

std::vector<torch::Tensor> BertModelImpl::forward(const torch::Tensor& input_ids,
                                                  const torch::Tensor& attention_mask, int64_t num_layers,
                                                  const torch::Tensor& token_type_ids) {
  UNL_CHECK(input_ids.dim() == 2 && input_ids.scalar_type() == torch::kInt64,
            "BERT input_ids must be an int64 [batch, length] tensor", "pass token ids from the WordPiece tokenizer");
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  UNL_CHECK(T <= config_.max_position_embeddings,
            fmt::format("a sequence of {} tokens exceeds BERT's {} position embeddings", T,
                        config_.max_position_embeddings),
            "truncate the texts (the tokenizer's max_length)");
  UNL_CHECK(!attention_mask.defined() || attention_mask.sizes() == input_ids.sizes(),
            "BERT attention_mask must have the shape of input_ids", "pass one 0/1 mask entry per token");
  const int64_t layers = static_cast<int64_t>(encoder->blocks.size());
  if (num_layers < 0) num_layers = layers;
  UNL_CHECK(num_layers <= layers,
            fmt::format("asked for the output of layer {}, but the model has {} layers", num_layers, layers),
            "choose a layer between 0 and num_hidden_layers");
  std::vector<torch::Tensor> hidden;
  auto x = embeddings->forward(input_ids, token_type_ids);
  hidden.push_back(x);
  // HF get_extended_attention_mask: (1 - mask) * finfo(dtype).min, broadcast over heads and queries.
  auto mask = attention_mask.defined() ? attention_mask : torch::ones({B, T}, input_ids.options());
  auto additive = (1.0 - mask.to(x.scalar_type())).mul(detail::mask_value(x.scalar_type())).view({B, 1, 1, T});
  for (int64_t l = 0; l < num_layers; ++l) {
    x = encoder->blocks[l]->forward(x, additive);
    hidden.push_back(x);
  }
  return hidden;
}

}  // namespace unl::model
