// evaluate_samples: every per-sample metric of a set of sequences (MA, EL_n, BLEU-4 and BERTScore
// of the beam continuation, token CE). Kept apart from metrics.cpp because it needs model::generate.
#include <algorithm>

#include "common/error.h"
#include "model/generate.h"
#include "unlearn/bert_encoder.h"
#include "unlearn/bertscore.h"
#include "unlearn/bleu.h"
#include "unlearn/metrics.h"
#include "unlearn/padding.h"

namespace unl::unlearn {

namespace {

struct ContinuationScores {
  std::vector<double> bleu, bertscore;
  std::vector<ContinuationText> texts;
};

/// The continuation check of every sequence: num_beams-beam generation of gen_len tokens from its
/// window's prompt, cut at EOS, decoded, and scored against the window's reference with NLTK
/// BLEU-4 (and BERTScore-F1 with an encoder). A sequence with an empty window scores 0.
ContinuationScores continuation_scores(model::CausalLMImpl& model, const std::vector<std::vector<int64_t>>& seqs,
                                       const EvalOptions& o, const DecodeFn& decode,
                                       const std::vector<int64_t>& prompt_lens) {
  auto prompt_of = [&](size_t j) { return prompt_lens.empty() ? int64_t{0} : prompt_lens[j]; };
  ContinuationScores out;
  out.bleu.assign(seqs.size(), 0.0);
  out.bertscore.assign(seqs.size(), -1.0);
  out.texts.resize(seqs.size());
  if (!decode) return out;
  UNL_CHECK(o.prefix_len > 0 && o.gen_len > 0 && o.num_beams > 0,
            "BLEU evaluation needs prefix_len, gen_len and num_beams > 0",
            "set eval.prefix_len, eval.gen_len and eval.num_beams to positive values");
  std::vector<int64_t> todo;
  std::vector<std::vector<int64_t>> prompts;
  for (size_t j = 0; j < seqs.size(); ++j) {
    const auto w = continuation_window(static_cast<int64_t>(seqs[j].size()), o, prompt_of(j));
    out.texts[j].full_window = w.full;
    if (w.empty()) continue;
    todo.push_back(static_cast<int64_t>(j));
    prompts.emplace_back(seqs[j].begin() + w.begin, seqs[j].begin() + w.prompt_end);
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
    auto gen = model::generate(model, p.ids.to(device), p.mask.to(device), g).cpu();
    auto ga = gen.accessor<int64_t, 2>();
    for (int64_t r = 0; r < b1 - b0; ++r) {
      std::vector<int64_t> hyp;
      for (int64_t k = 0; k < gen.size(1); ++k) {
        if (o.eos_token_id >= 0 && ga[r][k] == o.eos_token_id) break;  // as skip_special_tokens
        hyp.push_back(ga[r][k]);
      }
      const int64_t j = todo[b0 + r];
      const auto& x = seqs[j];
      const auto w = continuation_window(static_cast<int64_t>(x.size()), o, prompt_of(j));
      auto& t = out.texts[j];
      t.prompt = decode(prompts[b0 + r]);
      t.generated = decode(hyp);
      t.reference = decode(std::vector<int64_t>(x.begin() + w.prompt_end, x.begin() + w.end));
      out.bleu[j] = nltk_bleu4(t.generated, t.reference);
    }
  }
  if (o.bertscore_encoder && !todo.empty()) {
    std::vector<std::string> cands, refs;
    for (int64_t j : todo) cands.push_back(out.texts[j].generated), refs.push_back(out.texts[j].reference);
    BertScoreOptions bo;
    bo.num_layers = o.bertscore_layers;
    const auto scores = bert_score(*o.bertscore_encoder, cands, refs, bo);
    for (size_t k = 0; k < todo.size(); ++k) out.bertscore[todo[k]] = scores[k].f1;
  }
  return out;
}

}  // namespace

std::vector<SampleMetrics> evaluate_samples(model::CausalLMImpl& model,
                                            const std::vector<int64_t>& ids,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            const EvalOptions& options, const DecodeFn& decode,
                                            std::vector<ContinuationText>* texts,
                                            const std::vector<int64_t>& prompt_lens) {
  UNL_CHECK(ids.size() == seqs.size(),
            "evaluate_samples got " + std::to_string(ids.size()) + " ids for " +
                std::to_string(seqs.size()) + " sequences",
            "pass one sample id per sequence");
  torch::NoGradGuard no_grad;
  std::vector<SampleMetrics> out(seqs.size());
  UNL_CHECK(prompt_lens.empty() || prompt_lens.size() == seqs.size(),
            "evaluate_samples got " + std::to_string(prompt_lens.size()) + " prompt lengths for " +
                std::to_string(seqs.size()) + " sequences",
            "pass one prompt length per sequence (or none)");
  auto tf = teacher_forced_metrics(model, seqs, options.batch_size, options.pad_token_id, prompt_lens);
  auto el = extraction_likelihood(model, seqs, options, prompt_lens);
  auto cont = continuation_scores(model, seqs, options, decode, prompt_lens);
  for (size_t j = 0; j < seqs.size(); ++j) {
    out[j].id = ids[j];
    out[j].ma = tf.ma[j];
    out[j].el = el[j];
    out[j].bleu = cont.bleu[j];
    out[j].bertscore = cont.bertscore[j];
    out[j].loss = tf.loss[j];
    out[j].tokens = tf.tokens[j];
  }
  if (texts) *texts = std::move(cont.texts);
  return out;
}

ContinuationWindow continuation_window(int64_t length, const EvalOptions& o, int64_t prompt_len) {
  ContinuationWindow w;
  const int64_t p = o.prefix_len, g = o.gen_len;
  if (length < 2) return w;
  if (prompt_len > 0) {  // a question/answer sample: its own prompt and response
    w.prompt_end = std::min(prompt_len, length);
    w.end = length;
    w.full = true;
    return w;
  }
  if (length >= o.prompt_begin + p + g) {
    w.begin = o.prompt_begin;
    w.prompt_end = w.begin + p;
    w.end = w.prompt_end + g;
    w.full = true;
  } else if (length >= p + g) {
    w.begin = length - p - g;
    w.prompt_end = w.begin + p;
    w.end = length;
  } else {
    w.prompt_end = std::clamp<int64_t>((length * p + (p + g) / 2) / (p + g), 1, length - 1);
    w.end = length;
  }
  return w;
}

}  // namespace unl::unlearn
