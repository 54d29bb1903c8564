// A BERT encoder together with its WordPiece tokenizer, loaded from a Hugging Face directory, and
// batched encoding of texts into per-token hidden states: what BERTScore and the sentence
// embedder share.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/bert.h"
#include "tokenizer/wordpiece.h"

namespace unl::unlearn {

struct BertEncoder {
  model::BertConfig config;
  model::BertModel model{nullptr};
  std::shared_ptr<const tokenizer::WordPieceTokenizer> tokenizer;
  torch::Device device = torch::kCPU;
};

/// config.json + model.safetensors (model::load_bert) and vocab.txt + tokenizer_config.json
/// (tokenizer::WordPieceTokenizer::from_directory) of `dir`; the model in eval mode on `device`.
BertEncoder load_bert_encoder(const std::string& dir, torch::Device device = torch::kCPU);

/// The ids bert_score and sentence-transformers feed BERT for one text: the text stripped of
/// surrounding whitespace (Python's str.strip()), then [CLS] pieces [SEP] truncated to
/// max_length tokens (0: the tokenizer's model_max_length); "" gives [CLS] [SEP].
std::vector<int64_t> encode_text(const BertEncoder& encoder, const std::string& text, int64_t max_length);

/// The hidden state after `num_layers` layers (-1: all) of every sequence, [length_i, hidden]
/// float32 on the CPU, one per input. Sequences run in right-padded batches of at most
/// batch_size rows, grouped by length (results do not depend on the grouping beyond float
/// rounding: padding is masked). No gradient is kept.
std::vector<torch::Tensor> encode_token_states(const BertEncoder& encoder,
                                               const std::vector<std::vector<int64_t>>& seqs,
                                               int64_t num_layers, int64_t batch_size);

}  // namespace unl::unlearn
