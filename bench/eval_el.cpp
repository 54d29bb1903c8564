// Per-sample EL_10 + MA evaluation: batched KV-cache decoding against the textbook uncached loop
// (every prefix decoded alone, re-running the whole prefix per token). The uncached loop is timed
// on a subset and compared per sequence.
// Usage: bench_eval_el [sequences=128] [seq=200] [reference_subset=2] [shape=10m|125m] [target=cpu|cuda|cuda:bf16]
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/bench_util.h"
#include "model/model.h"
#include "unlearn/metrics.h"

using unl::bench::now;

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 128;
  const int64_t seq = argc > 2 ? std::atoll(argv[2]) : 200;
  const int64_t subset = argc > 3 ? std::atoll(argv[3]) : 2;
  const std::string shape = argc > 4 ? argv[4] : "10m";
  const auto target = unl::bench::parse_target(argc > 5 ? argv[5] : "cpu");
  at::globalContext().setFlushDenormal(true);  // as build/bin/unlearn does
  const auto c = unl::bench::gpt_neo_shape(shape);
  torch::manual_seed(0);
  auto model = unl::model::make_causal_lm(c);
  model->to(target.device);
  model->eval();
  unl::bench::set_autocast(target, true);
  std::vector<std::vector<int64_t>> seqs(n);
  auto r = torch::randint(0, c.vocab_size, {n, seq}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) seqs[i].assign(r[i].data_ptr<int64_t>(), r[i].data_ptr<int64_t>() + seq);
  unl::unlearn::EvalOptions o;  // n = 10, s = 150 (official ICU)
  o.batch_size = 16;
  double t0 = now();
  auto el = unl::unlearn::extraction_likelihood(*model, seqs, o);
  auto ma = unl::unlearn::memorization_accuracy(*model, seqs, o);
  const double fast = now() - t0;
  std::vector<std::vector<int64_t>> sub(seqs.begin(), seqs.begin() + std::min(subset, n));
  t0 = now();
  auto el_ref = unl::unlearn::extraction_likelihood_reference(*model, sub, o);
  const double slow = now() - t0;
  bool equal = true;
  for (size_t i = 0; i < sub.size(); ++i) equal = equal && el_ref[i] == el[i];
  const double fast_per = fast / n, slow_per = slow / static_cast<double>(sub.size());
  std::printf("{\"bench\": \"eval_el\", \"target\": \"%s\", \"shape\": \"%s\", \"sequences\": %lld, \"seq\": %lld, \"batched_s\": %.2f, "
              "\"batched_s_per_seq\": %.3f, \"uncached_s_per_seq\": %.3f, \"speedup\": %.1f, \"el_equal\": %s}\n",
              target.name().c_str(), shape.c_str(), static_cast<long long>(n), static_cast<long long>(seq), fast, fast_per, slow_per,
              slow_per / fast_per, equal ? "true" : "false");
  (void)ma;
  return 0;
}
