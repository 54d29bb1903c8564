// evaluate_samples: every per-sample metric of a set of sequences (MA, EL_n, BLEU-4 of the beam
// continuation, token CE). Kept apart from metrics.cpp because it needs model::generate.
#include <algorithm>

#include "common/error.h"
#include "model/generate.h"
#include "unlearn/bleu.h"
#include "unlearn/metrics.h"
#include "unlearn/padding.h"

namespace unl::unlearn {

namespace {

/// BLEU-4 of each sequence's generated continuation of its first prefix_len tokens against the
/// true next gen_len tokens. A sequence with no token after the prompt scores 0.
std::vector<double> continuation_bleu(model::CausalLMImpl& model,
                                      const std::vector<std::vector<int64_t>>& seqs,
                                      const EvalOptions& o, const DecodeFn& decode) {
  std::vector<double> bleu(seqs.size(), 0.0);
  if (!decode) return bleu;
  UNL_CHECK(o.prefix_len > 0 && o.gen_len > 0 && o.num_beams > 0,
            "BLEU evaluation needs prefix_len, gen_len and num_beams > 0",
            "set eval.prefix_len, eval.gen_len and eval.num_beams to positive values");
  std::vector<int64_t> todo;
  std::vector<std::vector<int64_t>> prompts;
  for (size_t j = 0; j < seqs.size(); ++j)
    if (static_cast<int64_t>(seqs[j].size()) > o.prefix_len) {
      todo.push_back(static_cast<int64_t>(j));
      prompts.emplace_back(seqs[j].begin(), seqs[j].begin() + o.prefix_len);
    }
  const auto device = model_device(model);
  model::GenerateOptions g;
  g.max_new_tokens = o.gen_len;
  g.num_beams = o.num_beams;
  g.eos_token_id = o.eos_token_id;
  g.pad_token_id = o.pad_token_id;
  const int64_t n = static_cast<int64_t>(prompts.size());
  for (int64_t b0 = 0; b0 < n; b0 += o.batch_size) {
    const int64_t b1 = std::min(n, b0 + o.batch_size);
    auto p = pad_left(prompts, b0, b1, o.pad_token_id);
    auto out = model::generate(model, p.ids.to(device), p.mask.to(device), g).cpu();
    auto oa = out.accessor<int64_t, 2>();
    for (int64_t r = 0; r < b1 - b0; ++r) {
      std::vector<int64_t> hyp;
      for (int64_t k = 0; k < out.size(1); ++k) {
        if (o.eos_token_id >= 0 && oa[r][k] == o.eos_token_id) break;  // as skip_special_tokens
        hyp.push_back(oa[r][k]);
      }
      const auto& x = seqs[todo[b0 + r]];
      const auto end = x.begin() + std::min<int64_t>(static_cast<int64_t>(x.size()), o.prefix_len + o.gen_len);
      std::vector<int64_t> ref(x.begin() + o.prefix_len, end);
      bleu[todo[b0 + r]] = nltk_bleu4(decode(hyp), decode(ref));
    }
  }
  return bleu;
}

}  // namespace

std::vector<SampleMetrics> evaluate_samples(model::CausalLMImpl& model,
                                            const std::vector<int64_t>& ids,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            const EvalOptions& options, const DecodeFn& decode) {
  UNL_CHECK(ids.size() == seqs.size(),
            "evaluate_samples got " + std::to_string(ids.size()) + " ids for " +
                std::to_string(seqs.size()) + " sequences",
            "pass one sample id per sequence");
  torch::NoGradGuard no_grad;
  std::vector<SampleMetrics> out(seqs.size());
  auto tf = teacher_forced_metrics(model, seqs, options.batch_size, options.pad_token_id);
  auto el = extraction_likelihood(model, seqs, options);
  auto bleu = continuation_bleu(model, seqs, options, decode);
  for (size_t j = 0; j < seqs.size(); ++j) {
    out[j].id = ids[j];
    out[j].ma = tf.ma[j];
    out[j].el = el[j];
    out[j].bleu = bleu[j];
    out[j].loss = tf.loss[j];
    out[j].tokens = tf.tokens[j];
  }
  return out;
}

}  // namespace unl::unlearn
