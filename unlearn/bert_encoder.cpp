// Loading a BERT encoder + tokenizer and running it over many sequences in length-sorted,
// right-padded batches.
#include "unlearn/bert_encoder.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"

namespace unl::unlearn {

BertEncoder load_bert_encoder(const std::string& dir, torch::Device device) {
  BertEncoder e;
  auto loaded = model::load_bert(dir, torch::kFloat32, device);
  e.config = loaded.config;
  e.model = loaded.model;
  e.tokenizer = std::make_shared<const tokenizer::WordPieceTokenizer>(
      tokenizer::WordPieceTokenizer::from_directory(dir));
  e.device = device;
  UNL_CHECK(e.tokenizer->vocab_size() <= e.config.vocab_size,
            "vocab.txt of '" + dir + "' has " + std::to_string(e.tokenizer->vocab_size()) +
                " tokens, more than the model's vocab_size " + std::to_string(e.config.vocab_size),
            "use the vocab.txt that belongs to the model");
  return e;
}

std::vector<int64_t> encode_text(const BertEncoder& encoder, const std::string& text, int64_t max_length) {
  // Python's str.strip() removes Unicode whitespace too; the tokenizer drops it anyway, so only
  // the empty-after-strip case matters, and that encodes to [CLS] [SEP] either way.
  return encoder.tokenizer->encode(text, true, max_length);
}

std::vector<torch::Tensor> encode_token_states(const BertEncoder& encoder,
                                               const std::vector<std::vector<int64_t>>& seqs,
                                               int64_t num_layers, int64_t batch_size) {
  UNL_CHECK(batch_size > 0, "BERT batch size must be positive", "set the batch size to 1 or more");
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(seqs.size());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return seqs[a].size() > seqs[b].size(); });
  const int64_t pad = encoder.tokenizer->pad_id() >= 0 ? encoder.tokenizer->pad_id() : 0;
  std::vector<torch::Tensor> out(n);
  for (int64_t b0 = 0; b0 < n; b0 += batch_size) {
    const int64_t b1 = std::min(n, b0 + batch_size);
    const int64_t T = static_cast<int64_t>(seqs[order[b0]].size());  // longest first
    UNL_CHECK(T > 0, "cannot encode an empty token sequence", "every sequence holds at least [CLS] and [SEP]");
    auto ids = torch::full({b1 - b0, T}, pad, torch::kInt64);
    auto mask = torch::zeros({b1 - b0, T}, torch::kInt64);
    for (int64_t r = 0; r < b1 - b0; ++r) {
      const auto& s = seqs[order[b0 + r]];
      const int64_t len = static_cast<int64_t>(s.size());
      ids[r].narrow(0, 0, len).copy_(torch::tensor(s, torch::kInt64));
      mask[r].narrow(0, 0, len).fill_(1);
    }
    auto hidden = encoder.model.ptr()->forward(ids.to(encoder.device), mask.to(encoder.device), num_layers)
                      .back()
                      .to(torch::kCPU, torch::kFloat32);
    for (int64_t r = 0; r < b1 - b0; ++r)
      out[order[b0 + r]] = hidden[r].narrow(0, 0, static_cast<int64_t>(seqs[order[b0 + r]].size())).clone();
  }
  return out;
}

}  // namespace unl::unlearn
