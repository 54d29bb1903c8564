// Sentence embeddings for neighbour mining as sentence-transformers computes them for a BERT +
// mean-pooling model such as all-MiniLM-L6-v2 (whose pipeline also L2-normalises).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/bert_encoder.h"

namespace unl::unlearn {

struct SentenceEmbeddingOptions {
  bool normalize = true;     // all-MiniLM-L6-v2's modules.json ends with a Normalize module
  int64_t max_length = 256;  // sentence-transformers' max_seq_length (all-MiniLM-L6-v2: 256)
  int64_t batch_size = 32;
};

/// The options a sentence-transformers directory implies: normalize = modules.json lists a
/// sentence_transformers.models.Normalize module; max_length = sentence_bert_config.json's
/// max_seq_length (capped by the tokenizer's model_max_length); 1_Pooling/config.json (or the
/// Pooling module's folder) must select mean pooling, anything else is refused by name. A plain
/// BERT directory (no modules.json) gives mean pooling without normalisation and max_length =
/// the tokenizer's model_max_length.
SentenceEmbeddingOptions sentence_embedding_options(const std::string& dir, const BertEncoder& encoder);

/// SentenceTransformer.encode() for BERT + mean pooling: each text stripped and encoded as
/// [CLS] pieces [SEP] (truncated to max_length), the last hidden state averaged over its tokens
/// ([CLS] and [SEP] included, as sentence-transformers averages over the attention mask), then
/// divided by max(||v||_2, 1e-12) when normalize is set (torch.nn.functional.normalize).
/// Returns [texts, hidden] float32 on the CPU.
torch::Tensor sentence_embeddings(const BertEncoder& encoder, const std::vector<std::string>& texts,
                                  const SentenceEmbeddingOptions& options);

}  // namespace unl::unlearn
