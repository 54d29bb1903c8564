// BERTScore in the order of operations of bert_score's bert_cos_score_idf and greedy_cos_idf:
// per-text embeddings, then per chunk of pairs: pad (value 2.0), normalise, bmm, mask, max, weigh.
#include "unlearn/bertscore.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"

namespace unl::unlearn {

namespace {

struct Padded {
  torch::Tensor emb, mask, idf;  // [B, L, H] (padding 2.0), [B, L] bool, [B, L] float
};

Padded pad_chunk(const std::vector<const torch::Tensor*>& embs, const std::vector<const torch::Tensor*>& idfs) {
  const int64_t B = static_cast<int64_t>(embs.size());
  int64_t L = 0;
  for (const auto* e : embs) L = std::max(L, e->size(0));
  const int64_t H = embs.front()->size(1);
  Padded p{torch::full({B, L, H}, 2.0f), torch::zeros({B, L}, torch::kBool), torch::zeros({B, L})};
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = embs[b]->size(0);
    p.emb[b].narrow(0, 0, n).copy_(*embs[b]);
    p.mask[b].narrow(0, 0, n).fill_(true);
    p.idf[b].narrow(0, 0, n).copy_(*idfs[b]);
  }
  return p;
}

}  // namespace

std::vector<BertScore> bert_score(const BertEncoder& encoder, const std::vector<std::string>& candidates,
                                  const std::vector<std::string>& references, const BertScoreOptions& options) {
  UNL_CHECK(candidates.size() == references.size(),
            "BERTScore got " + std::to_string(candidates.size()) + " candidates for " +
                std::to_string(references.size()) + " references",
            "pass one reference per candidate");
  UNL_CHECK(options.batch_size > 0, "BERTScore batch size must be positive", "set the batch size to 1 or more");
  UNL_CHECK(options.num_layers >= 0 && options.num_layers <= encoder.config.num_hidden_layers,
            "BERTScore layer " + std::to_string(options.num_layers) + " is outside the model's 0.." +
                std::to_string(encoder.config.num_hidden_layers),
            "choose the layer (bert-base-uncased: 9) within num_hidden_layers");
  if (candidates.empty()) return {};
  torch::NoGradGuard no_grad;
  // Each distinct text is encoded once (bert_score deduplicates too).
  std::map<std::string, size_t> slot;
  std::vector<std::vector<int64_t>> seqs;
  for (const auto* texts : {&references, &candidates})
    for (const auto& t : *texts)
      if (slot.emplace(t, seqs.size()).second) seqs.push_back(encode_text(encoder, t, options.max_length));
  const auto states = encode_token_states(encoder, seqs, options.num_layers, options.batch_size);
  // idf = 1 except [CLS]/[SEP] (by id, wherever they occur), as bert_score's default dict.
  std::vector<torch::Tensor> idf;
  for (const auto& s : seqs) {
    auto w = torch::ones({static_cast<int64_t>(s.size())});
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == encoder.tokenizer->cls_id() || s[i] == encoder.tokenizer->sep_id()) w[static_cast<int64_t>(i)] = 0.0f;
    idf.push_back(w);
  }
  std::vector<BertScore> out;
  const size_t n = candidates.size(), bs = static_cast<size_t>(options.batch_size);
  for (size_t b0 = 0; b0 < n; b0 += bs) {
    const size_t b1 = std::min(n, b0 + bs);
    std::vector<const torch::Tensor*> re, ri, he, hi;
    for (size_t k = b0; k < b1; ++k) {
      const size_t r = slot.at(references[k]), h = slot.at(candidates[k]);
      re.push_back(&states[r]), ri.push_back(&idf[r]), he.push_back(&states[h]), hi.push_back(&idf[h]);
    }
    auto ref = pad_chunk(re, ri), hyp = pad_chunk(he, hi);
    auto ref_emb = ref.emb / ref.emb.norm(2, std::vector<int64_t>{-1}).unsqueeze(-1);
    auto hyp_emb = hyp.emb / hyp.emb.norm(2, std::vector<int64_t>{-1}).unsqueeze(-1);
    auto sim = torch::bmm(hyp_emb, ref_emb.transpose(1, 2));
    auto masks = torch::bmm(hyp.mask.unsqueeze(2).to(torch::kFloat), ref.mask.unsqueeze(1).to(torch::kFloat));
    sim = sim * masks;
    auto word_precision = std::get<0>(sim.max(2));
    auto word_recall = std::get<0>(sim.max(1));
    auto hyp_idf = hyp.idf / hyp.idf.sum(std::vector<int64_t>{1}, true);
    auto ref_idf = ref.idf / ref.idf.sum(std::vector<int64_t>{1}, true);
    auto P = (word_precision * hyp_idf).sum(std::vector<int64_t>{1});
    auto R = (word_recall * ref_idf).sum(std::vector<int64_t>{1});
    auto F = 2 * P * R / (P + R);
    auto hyp_zero = hyp.mask.sum(std::vector<int64_t>{1}).eq(2), ref_zero = ref.mask.sum(std::vector<int64_t>{1}).eq(2);
    P = P.masked_fill(hyp_zero, 0.0).masked_fill(ref_zero, 0.0);
    R = R.masked_fill(hyp_zero, 0.0).masked_fill(ref_zero, 0.0);
    F = F.masked_fill(torch::isnan(F), 0.0);
    for (int64_t k = 0; k < static_cast<int64_t>(b1 - b0); ++k)
      out.push_back({P[k].item<double>(), R[k].item<double>(), F[k].item<double>()});
  }
  return out;
}

}  // namespace unl::unlearn
