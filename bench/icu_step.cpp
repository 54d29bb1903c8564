// Throughput of the full ICU step: forward of the trained model on the forget and neighbour
// batches, forward of the frozen reference on the neighbours, one backward, Adam. Reports
// tokens/s and model FLOPs utilisation against the GEMM rate measured in the same run.
// Usage: bench_icu_step [shape=125m|10m] [batch=8] [seq=200] [steps=3] [threads=0]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/model.h"
#include "unlearn/adam.h"
#include "unlearn/method.h"

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double gemm_gflops(int64_t n) {
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const double t0 = now();
    torch::mm_out(c, a, b);
    best = std::min(best, now() - t0);
  }
  return 2.0 * n * n * n / best / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string shape = argc > 1 ? argv[1] : "125m";
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 8;
  const int64_t seq = argc > 3 ? std::atoll(argv[3]) : 200;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 3;
  if (argc > 5 && std::atoi(argv[5]) > 0) torch::set_num_threads(std::atoi(argv[5]));
  unl::model::ModelConfig c;
  c.family = unl::model::Family::kGptNeo;
  c.vocab_size = 50257;
  c.max_position_embeddings = 2048;
  if (shape == "125m") {
    c.hidden_size = 768, c.num_layers = 12, c.num_heads = 12, c.intermediate_size = 3072;
  } else {  // ~10M parameters, most of them in the tied embedding
    c.hidden_size = 128, c.num_layers = 4, c.num_heads = 4, c.intermediate_size = 512;
  }
  c.num_kv_heads = c.num_heads;
  c.window_size = 256;
  c.attention_layers.clear();
  for (int64_t l = 0; l < c.num_layers; ++l) c.attention_layers.push_back(l % 2 ? "local" : "global");
  torch::manual_seed(0);
  auto model = unl::model::make_causal_lm(c);
  auto reference = unl::model::clone_causal_lm(*model);
  for (auto& p : reference->parameters()) p.set_requires_grad(false);
  unl::unlearn::NamedTensors named;
  int64_t params = 0;
  for (auto& [n, p] : unl::model::hf_state_dict(*model)) {
    named.emplace_back(n, p);
    params += p.numel();
  }
  unl::unlearn::Adam adam(named);
  auto method = unl::unlearn::make_method("icu", {});
  unl::unlearn::Batch b;
  b.forget_ids = torch::randint(0, c.vocab_size, {batch, seq}, torch::kInt64);
  b.forget_mask = torch::ones({batch, seq}, torch::kInt64);
  b.neighbour_ids = torch::randint(0, c.vocab_size, {batch, seq}, torch::kInt64);
  b.neighbour_mask = torch::ones({batch, seq}, torch::kInt64);
  const auto counts = method->count(b);
  auto run_step = [&] {
    adam.zero_grad();
    auto loss = method->loss(*model, reference.get(), b, counts);
    loss.loss.backward();
    adam.step();
  };
  run_step();  // warm-up (allocations, lazy init)
  const double t0 = now();
  for (int s = 0; s < steps; ++s) run_step();
  const double dt = (now() - t0) / steps;
  // Matmul FLOPs per token: 2 * (non-embedding matmul params + lm_head), plus attention scores.
  const double d = static_cast<double>(c.hidden_size), L = static_cast<double>(c.num_layers);
  const double matmul_params = L * (4 * d * d + 2 * d * c.intermediate_size) + d * c.vocab_size;
  const double attn = L * 2 * 2 * seq * d;  // QK^T and AV, per token (causal ~half, counted full as in MFU convention /2)
  const double per_token_fwd = 2 * matmul_params + attn / 2;
  const double tokens = static_cast<double>(batch * seq);
  // Trained model: forward + backward (3x) on forget and neighbour batches; reference: forward on neighbours.
  const double flops = 3 * per_token_fwd * 2 * tokens + per_token_fwd * tokens;
  const double peak = gemm_gflops(1024) * 1e9;
  std::printf("{\"bench\": \"icu_step\", \"shape\": \"%s\", \"params\": %lld, \"batch\": %lld, \"seq\": %lld, "
              "\"threads\": %d, \"step_s\": %.3f, \"tokens_per_s\": %.1f, \"achieved_gflops\": %.1f, "
              "\"gemm_peak_gflops\": %.1f, \"mfu\": %.3f}\n",
              shape.c_str(), static_cast<long long>(params), static_cast<long long>(batch), static_cast<long long>(seq),
              torch::get_num_threads(), dt, 2 * tokens / dt, flops / dt / 1e9, peak / 1e9, flops / dt / peak);
  return 0;
}
