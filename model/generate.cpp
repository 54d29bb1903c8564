// Batched KV-cache decoding over left-padded prompts: greedy, HF-style beam search, and the
// uncached textbook greedy used as the reference in tests.
#include "model/generate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "common/error.h"

namespace unl::model {

namespace {

torch::Tensor checked_mask(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                           const GenerateOptions& options) {
  UNL_CHECK(input_ids.defined() && input_ids.dim() == 2 && input_ids.size(1) > 0,
            "generate: input_ids must be a non-empty [batch, seq] tensor",
            "pass left-padded prompts of at least one token");
  UNL_CHECK(options.max_new_tokens >= 0 && options.num_beams >= 1,
            fmt::format("generate: max_new_tokens {} and num_beams {} are out of range",
                        options.max_new_tokens, options.num_beams),
            "use max_new_tokens >= 0 and num_beams >= 1");
  if (!attention_mask.defined()) return torch::ones_like(input_ids, torch::kLong);
  UNL_CHECK(attention_mask.sizes() == input_ids.sizes(),
            "generate: attention_mask and input_ids differ in shape",
            "pass one mask entry per prompt token (1 = real, 0 = left pad)");
  return attention_mask.to(input_ids.device(), torch::kLong);
}

torch::Tensor ones_column(const torch::Tensor& like) {
  return torch::ones({like.size(0), 1}, like.options());
}

/// Runs the prompt through the model, filling the cache, and returns the last position's logits
/// [B, V]. Only the last position goes through lm_head: [B, T, V] logits of a long prompt would
/// be hundreds of MB for nothing.
torch::Tensor prime(CausalLMImpl& model, const torch::Tensor& ids, const torch::Tensor& mask,
                    KVCache& cache) {
  const int64_t t = ids.size(1);
  if (t > 1) {
    model.forward(ids.narrow(1, 0, t - 1), mask.narrow(1, 0, t - 1), &cache, false);
  }
  return model.forward(ids.narrow(1, t - 1, 1), mask, &cache, true).logits.select(1, 0);
}

torch::Tensor greedy_cached(CausalLMImpl& model, const torch::Tensor& input_ids,
                            torch::Tensor mask, const GenerateOptions& options) {
  const int64_t batch = input_ids.size(0), steps = options.max_new_tokens;
  auto out = torch::full({batch, steps}, options.pad_token_id, input_ids.options().dtype(torch::kLong));
  if (steps == 0) return out;
  KVCache cache;
  auto logits = prime(model, input_ids, mask, cache);
  auto unfinished = torch::ones({batch}, input_ids.options().dtype(torch::kBool));
  const bool has_eos = options.eos_token_id >= 0;
  for (int64_t step = 0; step < steps; ++step) {
    auto next = logits.argmax(-1);
    if (has_eos) {
      next = torch::where(unfinished, next, torch::full_like(next, options.pad_token_id));
    }
    out.select(1, step).copy_(next);
    if (has_eos) {
      unfinished = unfinished.logical_and(next.ne(options.eos_token_id));
      if (!unfinished.any().item<bool>()) break;
    }
    if (step + 1 == steps) break;
    mask = torch::cat({mask, ones_column(mask)}, 1);
    logits = model.forward(next.unsqueeze(1), mask, &cache, true).logits.select(1, 0);
  }
  return out;
}

/// HF BeamHypotheses: the num_beams best finished sequences of one prompt.
struct Hypotheses {
  int64_t num_beams;
  double length_penalty;
  std::vector<std::pair<double, std::vector<int64_t>>> beams;
  double worst = 1e9;

  void add(std::vector<int64_t> tokens, double sum_logprobs, int64_t generated_len) {
    const double score = sum_logprobs / std::pow(static_cast<double>(generated_len), length_penalty);
    if (static_cast<int64_t>(beams.size()) < num_beams || score > worst) {
      beams.emplace_back(score, std::move(tokens));
      if (static_cast<int64_t>(beams.size()) > num_beams) {
        auto it = std::min_element(beams.begin(), beams.end(),
                                   [](const auto& a, const auto& b) { return a.first < b.first; });
        beams.erase(it);
        worst = std::min_element(beams.begin(), beams.end(), [](const auto& a, const auto& b) {
                  return a.first < b.first;
                })->first;
      } else {
        worst = std::min(score, worst);
      }
    }
  }
  /// early_stopping = false: stop once no running beam can beat the worst kept hypothesis.
  bool done(double best_running_sum, int64_t cur_len) const {
    if (static_cast<int64_t>(beams.size()) < num_beams) return false;
    return worst >= best_running_sum / std::pow(static_cast<double>(cur_len), length_penalty);
  }
};

}  // namespace

torch::Tensor beam_search(CausalLMImpl& model, const torch::Tensor& input_ids,
                          const torch::Tensor& attention_mask, const GenerateOptions& options) {
  torch::NoGradGuard no_grad;
  auto mask = checked_mask(input_ids, attention_mask, options);
  const int64_t batch = input_ids.size(0), steps = options.max_new_tokens;
  const int64_t nb = options.num_beams, rows = batch * nb;
  const int64_t eos = options.eos_token_id, pad = options.pad_token_id;
  auto long_opts = input_ids.options().dtype(torch::kLong);
  auto out = torch::full({batch, steps}, pad, long_opts);
  if (steps == 0) return out;

  mask = mask.repeat_interleave(nb, 0);
  KVCache cache;
  auto logits = prime(model, input_ids.repeat_interleave(nb, 0), mask, cache);
  const int64_t vocab = logits.size(-1);
  // Only beam 0 is live at first, so the first step does not pick the same token nb times.
  auto beam_scores = torch::zeros({batch, nb}, logits.options().dtype(torch::kFloat));
  if (nb > 1) beam_scores.narrow(1, 1, nb - 1).fill_(-1e9);
  beam_scores = beam_scores.view({rows});

  std::vector<Hypotheses> hyps(batch, Hypotheses{nb, options.length_penalty, {}, 1e9});
  std::vector<bool> done(batch, false);
  std::vector<std::vector<int64_t>> seqs(rows);  // generated tokens per running beam (CPU)
  // HF keeps max(2, 1 + n_eos) * num_beams candidates, so EOS can never starve the beams.
  const int64_t candidates = std::min<int64_t>(2 * nb, nb * vocab);
  for (int64_t step = 0; step < steps; ++step) {
    auto scores = torch::log_softmax(logits.to(torch::kFloat), -1) + beam_scores.unsqueeze(1);
    auto top = scores.view({batch, nb * vocab}).topk(candidates, 1, true, true);
    auto top_scores = std::get<0>(top).cpu();
    auto top_ids = std::get<1>(top).cpu();
    auto s_acc = top_scores.accessor<float, 2>();
    auto i_acc = top_ids.accessor<int64_t, 2>();

    std::vector<float> next_scores(rows, 0.0f);
    std::vector<int64_t> next_tokens(rows, pad), next_src(rows, 0);
    const int64_t cur_len = step + 1;  // generated length including this step's token
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b]) {
        for (int64_t j = 0; j < nb; ++j) next_src[b * nb + j] = b * nb;
        continue;
      }
      int64_t j = 0;
      for (int64_t rank = 0; rank < candidates && j < nb; ++rank) {
        const int64_t id = i_acc[b][rank], token = id % vocab, src = b * nb + id / vocab;
        if (eos >= 0 && token == eos) {
          if (rank >= nb) continue;  // HF: an EOS outside the top num_beams is not a hypothesis
          hyps[b].add(seqs[src], s_acc[b][rank], cur_len);
        } else {
          next_scores[b * nb + j] = s_acc[b][rank];
          next_tokens[b * nb + j] = token;
          next_src[b * nb + j] = src;
          ++j;
        }
      }
      done[b] = done[b] || hyps[b].done(s_acc[b][0], cur_len);
    }

    std::vector<std::vector<int64_t>> next_seqs(rows);
    for (int64_t r = 0; r < rows; ++r) {
      next_seqs[r] = seqs[next_src[r]];
      next_seqs[r].push_back(next_tokens[r]);
    }
    seqs = std::move(next_seqs);
    beam_scores = torch::tensor(next_scores).to(logits.device());
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || step + 1 == steps) break;

    auto src = torch::tensor(next_src).to(input_ids.device());
    cache.select_rows(src);
    mask = torch::cat({mask.index_select(0, src), ones_column(mask)}, 1);
    auto tokens = torch::tensor(next_tokens).to(input_ids.device()).unsqueeze(1);
    logits = model.forward(tokens, mask, &cache, true).logits.select(1, 0);
  }

  // Beams still running at the end compete with the finished ones (HF finalize).
  auto final_scores = beam_scores.cpu();
  for (int64_t b = 0; b < batch; ++b) {
    if (done[b]) continue;
    for (int64_t j = 0; j < nb; ++j) {
      const auto& s = seqs[b * nb + j];
      hyps[b].add(s, final_scores[b * nb + j].item<float>(), static_cast<int64_t>(s.size()));
    }
  }
  auto out_acc = out.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const auto& best = std::max_element(hyps[b].beams.begin(), hyps[b].beams.end(),
                                        [](const auto& x, const auto& y) { return x.first < y.first; })
                           ->second;
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(best.size()), steps);
    for (int64_t t = 0; t < n; ++t) out_acc[b][t] = best[t];
    if (n < steps && eos >= 0) out_acc[b][n] = eos;
  }
  return out;
}

torch::Tensor generate(CausalLMImpl& model, const torch::Tensor& input_ids,
                       const torch::Tensor& attention_mask, const GenerateOptions& options) {
  torch::NoGradGuard no_grad;
  auto mask = checked_mask(input_ids, attention_mask, options);
  if (options.num_beams > 1) return beam_search(model, input_ids, mask, options);
  return greedy_cached(model, input_ids, mask, options);
}

torch::Tensor greedy_uncached(CausalLMImpl& model, const torch::Tensor& input_ids,
                              const torch::Tensor& attention_mask, const GenerateOptions& options) {
  torch::NoGradGuard no_grad;
  auto mask = checked_mask(input_ids, attention_mask, options);
  const int64_t batch = input_ids.size(0), steps = options.max_new_tokens;
  auto out = torch::full({batch, steps}, options.pad_token_id, input_ids.options().dtype(torch::kLong));
  auto seq = input_ids.to(torch::kLong);
  auto unfinished = torch::ones({batch}, seq.options().dtype(torch::kBool));
  for (int64_t step = 0; step < steps; ++step) {
    auto logits = model.forward(seq, mask).logits;
    auto next = logits.select(1, seq.size(1) - 1).argmax(-1);
    if (options.eos_token_id >= 0) {
      next = torch::where(unfinished, next, torch::full_like(next, options.pad_token_id));
      unfinished = unfinished.logical_and(next.ne(options.eos_token_id));
    }
    out.select(1, step).copy_(next);
    seq = torch::cat({seq, next.unsqueeze(1)}, 1);
    mask = torch::cat({mask, ones_column(mask)}, 1);
  }
  return out;
}

}  // namespace unl::model
