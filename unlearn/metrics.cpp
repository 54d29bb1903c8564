// Forgetting metrics on token sequences: n-gram overlap, MA and token
// CE from one teacher-forced forward, and EL_n by batched KV-cache greedy decoding that reuses
// one prefill per sequence for all of its prefixes and decodes only where greedy diverges.
#include "unlearn/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "common/error.h"
#include "unlearn/losses.h"
#include "unlearn/padding.h"

namespace unl::unlearn {

// ----- sequence-level scores ------------------------------------------------------------------

double ngram_overlap(const std::vector<int64_t>& pred, const std::vector<int64_t>& label, int n) {
  UNL_CHECK(n > 0, "n-gram order must be positive, got " + std::to_string(n), "set eval.n to 1 or more");
  const int64_t ln = static_cast<int64_t>(label.size()) - n + 1;
  if (ln <= 0) return 0.0;
  std::set<std::vector<int64_t>> grams;
  for (int64_t i = 0; i < ln; ++i) grams.emplace(label.begin() + i, label.begin() + i + n);
  int64_t hits = 0;
  const int64_t pn = static_cast<int64_t>(pred.size()) - n + 1;
  for (int64_t i = 0; i < pn; ++i)
    hits += grams.count(std::vector<int64_t>(pred.begin() + i, pred.begin() + i + n));
  return static_cast<double>(hits) / static_cast<double>(ln);
}

// ----- teacher-forced metrics -----------------------------------------------------------------

TeacherForcedMetrics teacher_forced_metrics(model::CausalLMImpl& model,
                                            const std::vector<std::vector<int64_t>>& seqs,
                                            int64_t batch_size, int64_t pad_token_id,
                                            const std::vector<int64_t>& prompt_lens) {
  UNL_CHECK(batch_size > 0, "evaluation batch size must be positive", "set eval.batch_size to 1 or more");
  torch::NoGradGuard no_grad;
  const auto device = model_device(model);
  const int64_t n = static_cast<int64_t>(seqs.size());
  TeacherForcedMetrics out{std::vector<double>(n, 0), std::vector<double>(n, 0), std::vector<int64_t>(n, 0)};
  for (int64_t b0 = 0; b0 < n; b0 += batch_size) {
    const int64_t b1 = std::min(n, b0 + batch_size);
    auto p = pad_right(seqs, b0, b1, pad_token_id, 1, prompt_lens);
    auto ids = p.ids.to(device), mask = p.mask.to(device);
    auto logits = model.forward(ids, mask).logits;
    auto tp = target_positions(mask);
    auto pred = logits.argmax(-1);  // [B, L]: the prediction of the next token
    const int64_t L = ids.size(1);
    auto hits = torch::zeros_like(tp);
    if (L >= 2)
      hits.narrow(1, 0, L - 1).copy_(pred.narrow(1, 0, L - 1).eq(ids.narrow(1, 1, L - 1)));
    auto correct = hits.logical_and(tp).sum(1).cpu();
    auto count = tp.sum(1).cpu();
    auto nll = token_term_sums(logits, torch::Tensor(), ids, mask).nll.to(torch::kDouble).cpu();
    for (int64_t r = 0; r < b1 - b0; ++r) {
      const int64_t c = count[r].item<int64_t>();
      out.tokens[b0 + r] = c;
      if (c == 0) continue;
      out.ma[b0 + r] = static_cast<double>(correct[r].item<int64_t>()) / static_cast<double>(c);
      out.loss[b0 + r] = nll[r].item<double>() / static_cast<double>(c);
    }
  }
  return out;
}

std::vector<double> memorization_accuracy(model::CausalLMImpl& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const EvalOptions& options,
                                          const std::vector<int64_t>& prompt_lens) {
  return teacher_forced_metrics(model, seqs, options.batch_size, options.pad_token_id, prompt_lens).ma;
}

std::pair<double, int64_t> cross_entropy_sum(model::CausalLMImpl& model,
                                             const std::vector<std::vector<int64_t>>& seqs,
                                             int64_t batch_size, int64_t pad_token_id,
                                             const std::vector<int64_t>& prompt_lens) {
  auto tf = teacher_forced_metrics(model, seqs, batch_size, pad_token_id, prompt_lens);
  double sum = 0;
  int64_t count = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    sum += tf.loss[i] * static_cast<double>(tf.tokens[i]);
    count += tf.tokens[i];
  }
  return {sum, count};
}

// ----- extraction likelihood ------------------------------------------------------------------

namespace {

/// Prefix lengths i = s .. T-n that EL_n averages over; empty when T - s - n + 1 < 1. With a
/// prompt of P tokens, i = P .. T-n: every prefix holds the whole prompt.
std::pair<int64_t, int64_t> prefix_range(int64_t T, const EvalOptions& o, int64_t prompt_len) {
  UNL_CHECK(o.n > 0, "EL n must be positive, got " + std::to_string(o.n), "set eval.n to 1 or more");
  // A prefix holds at least one token.
  const int64_t s = prompt_len > 0 ? prompt_len : std::max<int64_t>(1, o.suffix_start);
  return {s, T - o.n};  // inclusive; empty when first > last
}

struct PrefixRow {
  int64_t seq;     // index into the group
  int64_t prefix;  // i: tokens given
  int64_t need;    // T - i: tokens to decode
};

/// The prefill cache with positions flattened, [G * L, H, D] per layer: rows are then gathered
/// by one index_select per layer and chunk.
struct FlatCache {
  std::vector<torch::Tensor> keys, values;
  int64_t length = 0;  // L
};

FlatCache flatten(model::KVCache&& cache) {
  FlatCache f;
  f.length = cache.keys[0].size(2);
  auto flat = [](const torch::Tensor& t) {  // [G, H, L, D] -> [G * L, H, D]
    return t.permute({0, 2, 1, 3}).reshape({t.size(0) * t.size(2), t.size(1), t.size(3)});
  };
  for (size_t l = 0; l < cache.keys.size(); ++l) {
    f.keys.push_back(flat(cache.keys[l]));
    f.values.push_back(flat(cache.values[l]));
    cache.keys[l] = torch::Tensor();
    cache.values[l] = torch::Tensor();
  }
  return f;
}

/// The cache rows of `rows`, each re-laid out left padded to C = max prefix: row r keeps the
/// prefill's real positions [P_g, P_g + i) at columns [C - i, C). Keys keep their meaning
/// because position ids follow the mask, and index distances between real tokens (GPT-Neo's
/// local window) are unchanged by left padding.
model::KVCache gather_rows(const FlatCache& group, const std::vector<PrefixRow>& rows,
                           const std::vector<int64_t>& pad_of, int64_t C, torch::Tensor* mask) {
  const int64_t R = static_cast<int64_t>(rows.size());
  const int64_t L = group.length;
  auto index = torch::empty({R * C}, torch::kInt64);
  *mask = torch::zeros({R, C}, torch::kInt64);
  auto ia = index.accessor<int64_t, 1>();
  auto ma = mask->accessor<int64_t, 2>();
  for (int64_t r = 0; r < R; ++r) {
    const auto& row = rows[r];
    const int64_t first = pad_of[row.seq];
    for (int64_t c = 0; c < C; ++c) {
      const int64_t k = c - (C - row.prefix);  // position in the sequence, < 0 = padding
      ia[r * C + c] = row.seq * L + first + std::max<int64_t>(k, 0);
      ma[r][c] = k >= 0 ? 1 : 0;
    }
  }
  model::KVCache out;
  auto take = [&](const torch::Tensor& flat) {  // [G * L, H, D] -> [R, H, C, D]
    return flat.index_select(0, index.to(flat.device()))
        .view({R, C, flat.size(1), flat.size(2)})
        .permute({0, 2, 1, 3})
        .contiguous();
  };
  for (size_t l = 0; l < group.keys.size(); ++l) {
    out.keys.push_back(take(group.keys[l]));
    out.values.push_back(take(group.values[l]));
  }
  return out;
}

}  // namespace

std::vector<double> extraction_likelihood(model::CausalLMImpl& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const EvalOptions& options,
                                          const std::vector<int64_t>& prompt_lens) {
  UNL_CHECK(prompt_lens.empty() || prompt_lens.size() == seqs.size(),
            std::to_string(prompt_lens.size()) + " prompt lengths for " + std::to_string(seqs.size()) + " sequences",
            "this is a bug in the caller: give one prompt length per sequence (or none)");
  auto prompt_of = [&](int64_t j) { return prompt_lens.empty() ? int64_t{0} : prompt_lens[j]; };
  UNL_CHECK(options.batch_size > 0, "evaluation batch size must be positive",
            "set eval.batch_size to 1 or more");
  torch::NoGradGuard no_grad;
  const auto device = model_device(model);
  const int64_t N = static_cast<int64_t>(seqs.size());
  std::vector<double> el(N, 0.0);
  // overlap[j][i - lo]: summed in prefix order at the end, as the reference does, so both give
  // bit-identical results. Only sequences with at least one prefix take part.
  std::vector<std::vector<double>> overlap(N);
  std::vector<int64_t> todo;
  for (int64_t j = 0; j < N; ++j) {
    auto [lo, hi] = prefix_range(static_cast<int64_t>(seqs[j].size()), options, prompt_of(j));
    if (lo <= hi) {
      todo.push_back(j);
      overlap[j].assign(hi - lo + 1, 0.0);
    }
  }
  for (size_t g0 = 0; g0 < todo.size(); g0 += options.batch_size) {
    const size_t g1 = std::min(todo.size(), g0 + static_cast<size_t>(options.batch_size));
    std::vector<std::vector<int64_t>> group;
    for (size_t k = g0; k < g1; ++k) group.push_back(seqs[todo[k]]);
    const int64_t G = static_cast<int64_t>(group.size());
    // One prefill per sequence: its logits give every prefix's first greedy token, its cache
    // every prefix's keys/values (position ids follow the mask, so left padding changes nothing).
    auto padded = pad_left(group, 0, G, options.pad_token_id);
    const int64_t L = padded.ids.size(1);
    model::KVCache cache;
    auto first = model.forward(padded.ids.to(device), padded.mask.to(device), &cache)
                     .logits.argmax(-1).cpu();  // [G, L]
    UNL_CHECK(!cache.keys.empty() && cache.keys[0].defined() && cache.keys[0].size(2) == L,
              "the model did not fill the KV cache during the EL_n prefill",
              "a CausalLM must append every layer's keys/values to the cache it is given");
    const FlatCache flat = flatten(std::move(cache));
    auto fa = first.accessor<int64_t, 2>();
    // A prefix whose first greedy token is the true next token continues exactly as the next
    // prefix does (same context, deterministic argmax). So each prefix i only needs decoding from
    // the first divergence j >= i (greedy(x_<j) starts with a token != x_j), and
    // greedy(x_<i, T-i) = x_i .. x_{j-1} + greedy(x_<j, T-j). A memorised sequence costs no
    // decoding at all; a forgotten one decodes (almost) every prefix.
    std::vector<int64_t> pad_of(G);
    std::vector<std::vector<int64_t>> divergence(G);  // [g][i - lo]: first j >= i diverging, or T
    std::vector<std::map<int64_t, std::vector<int64_t>>> generated(G);  // [g][j] = greedy(x_<j, T-j)
    std::vector<PrefixRow> rows;
    for (int64_t g = 0; g < G; ++g) {
      const auto& x = group[g];
      const int64_t T = static_cast<int64_t>(x.size());
      pad_of[g] = L - T;
      auto [lo, hi] = prefix_range(T, options, prompt_of(todo[g0 + g]));
      auto& div = divergence[g];
      div.assign(T - lo + 1, T);
      for (int64_t j = T - 1; j >= lo; --j)
        div[j - lo] = fa[g][pad_of[g] + j - 1] != x[j] ? j : div[j + 1 - lo];
      std::set<int64_t> needed;
      for (int64_t i = lo; i <= hi; ++i)
        if (div[i - lo] < T) needed.insert(div[i - lo]);
      for (int64_t j : needed) rows.push_back({g, j, T - j});
    }
    // Rows needing similar numbers of tokens decode together: little work past a row's end.
    std::stable_sort(rows.begin(), rows.end(),
                     [](const PrefixRow& a, const PrefixRow& b) { return a.need > b.need; });
    for (size_t r0 = 0; r0 < rows.size(); r0 += options.batch_size) {
      const size_t r1 = std::min(rows.size(), r0 + static_cast<size_t>(options.batch_size));
      std::vector<PrefixRow> chunk(rows.begin() + r0, rows.begin() + r1);
      const int64_t R = static_cast<int64_t>(chunk.size());
      int64_t C = 0, steps = 0;
      for (const auto& row : chunk) C = std::max(C, row.prefix), steps = std::max(steps, row.need);
      torch::Tensor mask;
      auto rc = gather_rows(flat, chunk, pad_of, C, &mask);
      mask = mask.to(device);
      auto gen = torch::empty({R, steps}, torch::kInt64);
      auto ga = gen.accessor<int64_t, 2>();
      for (int64_t r = 0; r < R; ++r) ga[r][0] = fa[chunk[r].seq][pad_of[chunk[r].seq] + chunk[r].prefix - 1];
      auto last = gen.narrow(1, 0, 1).to(device);
      auto ones = torch::ones({R, 1}, mask.options());
      for (int64_t k = 1; k < steps; ++k) {
        mask = torch::cat({mask, ones}, 1);
        last = model.forward(last, mask, &rc).logits.select(1, -1).argmax(-1, true);
        gen.narrow(1, k, 1).copy_(last.cpu());
      }
      for (int64_t r = 0; r < R; ++r)
        generated[chunk[r].seq][chunk[r].prefix] = std::vector<int64_t>(ga[r].data(), ga[r].data() + chunk[r].need);
    }
    for (int64_t g = 0; g < G; ++g) {
      const auto& x = group[g];
      const int64_t T = static_cast<int64_t>(x.size());
      auto [lo, hi] = prefix_range(T, options, prompt_of(todo[g0 + g]));
      auto& out = overlap[todo[g0 + g]];
      for (int64_t i = lo; i <= hi; ++i) {
        const int64_t j = divergence[g][i - lo];
        std::vector<int64_t> pred(x.begin() + i, x.begin() + j);
        if (j < T) {
          const auto& tail = generated[g].at(j);
          pred.insert(pred.end(), tail.begin(), tail.end());
        }
        out[i - lo] = ngram_overlap(pred, std::vector<int64_t>(x.begin() + i, x.end()), options.n);
      }
    }
  }
  for (int64_t j = 0; j < N; ++j) {
    if (overlap[j].empty()) continue;
    for (double v : overlap[j]) el[j] += v;
    el[j] /= static_cast<double>(overlap[j].size());
  }
  return el;
}

std::vector<double> extraction_likelihood_reference(model::CausalLMImpl& model,
                                                    const std::vector<std::vector<int64_t>>& seqs,
                                                    const EvalOptions& options,
                                                    const std::vector<int64_t>& prompt_lens) {
  torch::NoGradGuard no_grad;
  const auto device = model_device(model);
  std::vector<double> el(seqs.size(), 0.0);
  for (size_t j = 0; j < seqs.size(); ++j) {
    const auto& x = seqs[j];
    const int64_t T = static_cast<int64_t>(x.size());
    auto [lo, hi] = prefix_range(T, options, prompt_lens.empty() ? 0 : prompt_lens[j]);
    if (lo > hi) continue;
    for (int64_t i = lo; i <= hi; ++i) {
      std::vector<int64_t> ctx(x.begin(), x.begin() + i), pred;
      for (int64_t k = 0; k < T - i; ++k) {
        auto ids = torch::tensor(ctx, torch::kInt64).unsqueeze(0).to(device);
        const int64_t next = model.forward(ids, torch::Tensor()).logits[0][-1].argmax().item<int64_t>();
        pred.push_back(next);
        ctx.push_back(next);
      }
      el[j] += ngram_overlap(pred, std::vector<int64_t>(x.begin() + i, x.end()), options.n);
    }
    el[j] /= static_cast<double>(hi - lo + 1);
  }
  return el;
}

}  // namespace unl::unlearn
