// Batched execution of log-likelihood, score and generation requests on one model.
#include "eval/runner.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "model/generate.h"

namespace unl::eval {
namespace {

torch::Device device_of(model::CausalLMImpl& model) {
  auto params = model.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

/// rows padded to the longest, on the right (teacher forcing) or the left (generation).
std::pair<torch::Tensor, torch::Tensor> pad(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, bool left) {
  int64_t L = 1;
  for (const auto& r : rows) L = std::max<int64_t>(L, static_cast<int64_t>(r.size()));
  const int64_t B = static_cast<int64_t>(rows.size());
  auto ids = torch::full({B, L}, pad_id, torch::kInt64), mask = torch::zeros({B, L}, torch::kInt64);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(rows[b].size()), off = left ? L - n : 0;
    for (int64_t t = 0; t < n; ++t) ia[b][off + t] = rows[b][t], ma[b][off + t] = 1;
  }
  return {ids, mask};
}

}  // namespace

std::vector<std::vector<int64_t>> plan_batches(const std::vector<int64_t>& lengths, int64_t batch_size) {
  UNL_CHECK(batch_size > 0, "evaluation batch size must be positive", "pass --batch-size 1 or more");
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batch_size))
    out.emplace_back(order.begin() + i, order.begin() + std::min(order.size(), i + static_cast<size_t>(batch_size)));
  return out;
}

std::vector<double> sequence_scores(const torch::Tensor& logits, const std::vector<int64_t>& targets, double min_k) {
  const int64_t n = static_cast<int64_t>(targets.size());
  UNL_CHECK(n >= 1 && logits.dim() == 2 && logits.size(0) == n, "sequence_scores needs logits [n, V] for n targets",
            "this is a bug in the evaluation runner");
  auto lp = torch::log_softmax(logits.to(torch::kCPU, torch::kDouble), -1);  // [n, V]
  auto tgt = torch::tensor(targets, torch::kInt64);
  auto token_lp = lp.gather(1, tgt.unsqueeze(1)).squeeze(1);                 // [n]
  auto p = lp.exp();
  auto mu = (p * lp).sum(-1);
  auto var = (p * lp * lp).sum(-1) - mu * mu;
  auto zpp = (token_lp - mu) / var.clamp_min(0).sqrt();
  auto pred = lp.argmax(-1);
  std::vector<double> lpv(token_lp.data_ptr<double>(), token_lp.data_ptr<double>() + n);
  std::vector<double> zv(zpp.data_ptr<double>(), zpp.data_ptr<double>() + n);
  std::vector<int64_t> pv(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + n);
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n) * min_k));
  auto lowest_mean = [k](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    double s = 0;
    for (int64_t i = 0; i < k; ++i) s += v[i];
    return s / static_cast<double>(k);
  };
  std::vector<double> out(kNumScoreFields, 0.0);
  double nll = 0;
  int64_t hits = 0;
  for (int64_t t = 0; t < n; ++t) nll -= lpv[t], hits += pv[t] == targets[t];
  int64_t first = n;  // smallest k with pred[k:] == targets[k:]
  while (first > 0 && pv[first - 1] == targets[first - 1]) --first;
  out[kLoss] = nll / static_cast<double>(n);
  out[kMinK] = -lowest_mean(lpv);
  out[kMinKPlusPlus] = -lowest_mean(zv);
  out[kExactMemorization] = static_cast<double>(hits) / static_cast<double>(n);
  out[kExtractionStrength] = 1.0 - static_cast<double>(first) / static_cast<double>(n);
  out[kTokens] = static_cast<double>(n);
  return out;
}

std::vector<Output> run_batch(model::CausalLMImpl& model, RequestKind kind, const std::vector<Request>& requests,
                              const std::vector<int64_t>& batch, const RunnerOptions& o) {
  torch::NoGradGuard no_grad;
  const auto device = device_of(model);
  std::vector<Output> out(batch.size());
  for (size_t r = 0; r < batch.size(); ++r) out[r].index = batch[r];
  if (batch.empty()) return out;
  if (kind == RequestKind::kGenerate) {
    std::vector<std::vector<int64_t>> prompts;
    std::vector<int64_t> budget;
    for (int64_t i : batch) {
      prompts.push_back(requests.at(i).context);
      budget.push_back(requests[i].max_new_tokens > 0 ? requests[i].max_new_tokens : o.max_new_tokens);
    }
    auto [ids, mask] = pad(prompts, o.pad_token_id, true);
    model::GenerateOptions g;
    g.max_new_tokens = *std::max_element(budget.begin(), budget.end());
    g.num_beams = 1;
    g.eos_token_id = o.eos_token_id;
    g.pad_token_id = o.pad_token_id;
    auto gen = model::generate(model, ids.to(device), mask.to(device), g).cpu().contiguous();
    auto ga = gen.accessor<int64_t, 2>();
    for (size_t r = 0; r < batch.size(); ++r)
      for (int64_t k = 0; k < std::min<int64_t>(gen.size(1), budget[r]); ++k) {
        if (o.eos_token_id >= 0 && ga[r][k] == o.eos_token_id) break;
        out[r].tokens.push_back(ga[r][k]);
      }
    return out;
  }
  // Teacher-forced kinds: the input is every token but the last; row r predicts its targets at
  // positions [first, first + count).
  std::vector<std::vector<int64_t>> inputs;
  std::vector<std::vector<int64_t>> targets;
  for (int64_t i : batch) {
    const auto& q = requests.at(i);
    std::vector<int64_t> full = q.context;
    full.insert(full.end(), q.continuation.begin(), q.continuation.end());
    UNL_CHECK(full.size() >= 2, "an evaluation request has fewer than two tokens", "this is a bug in the task");
    const size_t count = kind == RequestKind::kLoglik ? q.continuation.size() : full.size() - 1;
    UNL_CHECK(count >= 1, "a log-likelihood request has an empty continuation", "this is a bug in the task");
    targets.emplace_back(full.end() - static_cast<int64_t>(count), full.end());
    full.pop_back();
    inputs.push_back(std::move(full));
  }
  auto [ids, mask] = pad(inputs, o.pad_token_id, false);
  auto logits = model.forward(ids.to(device), mask.to(device)).logits;  // [B, L, V]
  for (size_t r = 0; r < batch.size(); ++r) {
    const int64_t n_in = static_cast<int64_t>(inputs[r].size()), count = static_cast<int64_t>(targets[r].size());
    auto rows = logits[static_cast<int64_t>(r)].narrow(0, n_in - count, count);  // [count, V]
    if (kind == RequestKind::kScore) {
      out[r].values = sequence_scores(rows, targets[r], o.min_k);
      continue;
    }
    auto lp = torch::log_softmax(rows.to(torch::kCPU, torch::kDouble), -1);
    auto tgt = torch::tensor(targets[r], torch::kInt64);
    const double sum = lp.gather(1, tgt.unsqueeze(1)).sum().item<double>();
    auto pred = lp.argmax(-1).contiguous();
    out[r].tokens.assign(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + count);
    out[r].values = {sum, out[r].tokens == targets[r] ? 1.0 : 0.0};
  }
  return out;
}

}  // namespace unl::eval
