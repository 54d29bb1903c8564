// BERTScore (precision, recall, F1) as the bert_score package computes it with idf=False and no
// baseline rescaling: greedy cosine matching of the token embeddings of one BERT layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/bert_encoder.h"

namespace unl::unlearn {

struct BertScoreOptions {
  int64_t num_layers = 9;   // hidden state used: output of this many layers (bert-base-uncased: 9)
  int64_t batch_size = 64;  // pairs matched together, bert_score's batch_size (see bert_score())
  int64_t max_length = 0;   // tokens incl. [CLS]/[SEP]; 0: the tokenizer's model_max_length (512)
};

struct BertScore {
  double precision = 0, recall = 0, f1 = 0;
};

/// bert_score.score(candidates, references, num_layers=..., idf=False, batch_size=...) to float
/// rounding, one result per pair. Per pair: both texts encoded as [CLS] pieces [SEP]
/// (encode_text); token embeddings of layer num_layers, L2-normalised; P = mean over candidate
/// tokens of the best cosine with a reference token, R the converse, F1 = 2PR / (P + R).
/// Kept exactly as bert_score does it:
///  - [CLS]/[SEP] (any token with their ids) weigh 0 as tokens being matched, but stay in the
///    max as match targets (bert_score zeroes their idf weights, not their similarities);
///  - pairs are matched in chunks of batch_size in the given order, each side padded to the
///    chunk's longest text, and padded positions enter the max as similarity 0: a token whose
///    best cosine is negative scores 0 when the other text is shorter than the chunk's longest
///    (batch_size 1 never pads);
///  - a text with no token besides [CLS]/[SEP] ("" or whitespace) gives P = R = F1 = 0; a text
///    whose pieces all have [CLS]/[SEP] ids (e.g. "[SEP]") gives P or R NaN (0/0) and F1 = 0.
std::vector<BertScore> bert_score(const BertEncoder& encoder, const std::vector<std::string>& candidates,
                                  const std::vector<std::string>& references,
                                  const BertScoreOptions& options = {});

}  // namespace unl::unlearn
