// Shared by the bench/ mains: a clock, the device/precision choice (cpu | cuda, fp32 | bf16
// autocast) and the matmul rate of that device and precision, measured in the same process so
// every utilisation figure is a ratio taken in one run.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>

#include "model/config.h"

namespace unl::bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// A GPT-Neo of the given size with the GPT-2 vocabulary: "10m" (~7.5M parameters, most in the
/// tied embedding), "125m", "1.3b", "2.7b" (the published GPT-Neo shapes); global/local layers alternate.
inline model::ModelConfig gpt_neo_shape(const std::string& shape) {
  model::ModelConfig c;
  c.family = model::Family::kGptNeo;
  c.vocab_size = 50257;
  c.max_position_embeddings = 2048;
  if (shape == "125m") {
    c.hidden_size = 768, c.num_layers = 12, c.num_heads = 12, c.intermediate_size = 3072;
  } else if (shape == "1.3b") {  // GPT-Neo-1.3B and 2.7B shapes, for the GPU script
    c.hidden_size = 2048, c.num_layers = 24, c.num_heads = 16, c.intermediate_size = 8192;
  } else if (shape == "2.7b") {
    c.hidden_size = 2560, c.num_layers = 32, c.num_heads = 20, c.intermediate_size = 10240;
  } else {  // ~10M parameters, most of them in the tied embedding
    c.hidden_size = 128, c.num_layers = 4, c.num_heads = 4, c.intermediate_size = 512;
  }
  c.num_kv_heads = c.num_heads;
  c.window_size = 256;
  c.attention_layers.clear();
  for (int64_t l = 0; l < c.num_layers; ++l) c.attention_layers.push_back(l % 2 ? "local" : "global");
  return c;
}

/// Where and how a bench runs: parsed from "cpu", "cuda", "cuda:bf16" (bf16 autocast).
struct Target {
  torch::Device device = torch::kCPU;
  bool bf16 = false;
  std::string name() const { return std::string(device.is_cuda() ? "cuda" : "cpu") + (bf16 ? ":bf16" : ""); }
};

inline Target parse_target(const std::string& s) {
  Target t;
  if (s.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      std::fprintf(stderr, "bench: '%s' asked for but no CUDA device is visible (CPU LibTorch or no GPU)\n", s.c_str());
      std::exit(2);
    }
    t.device = torch::Device(torch::kCUDA, 0);
  }
  t.bf16 = s.find("bf16") != std::string::npos;
  if (t.bf16 && !t.device.is_cuda()) {
    std::fprintf(stderr, "bench: bf16 autocast is measured on CUDA only\n");
    std::exit(2);
  }
  return t;
}

/// Waits for queued device work so wall-clock times are real.
inline void sync(const Target& t) {
  if (t.device.is_cuda()) torch::cuda::synchronize();
}

/// Turns CUDA bf16 autocast on or off (the API moved in LibTorch 2.4).
inline void set_autocast(const Target& t, bool on) {
  if (!t.bf16) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, on);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  at::autocast::set_enabled(on);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
  if (!on) at::autocast::clear_cache();
}

/// Best-of-5 matmul rate (GFLOP/s) of n x n x n on the target in its compute precision: fp32 on
/// the CPU, fp32 or bf16 on CUDA. The denominator of every MFU figure.
inline double matmul_gflops(const Target& t, int64_t n) {
  const auto dtype = t.bf16 ? torch::kBFloat16 : torch::kFloat;
  auto opts = torch::TensorOptions().device(t.device).dtype(dtype);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts), c = torch::empty({n, n}, opts);
  torch::mm_out(c, a, b);
  sync(t);
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const double t0 = now();
    for (int k = 0; k < (t.device.is_cuda() ? 20 : 1); ++k) torch::mm_out(c, a, b);
    sync(t);
    best = std::min(best, (now() - t0) / (t.device.is_cuda() ? 20 : 1));
  }
  return 2.0 * static_cast<double>(n) * n * n / best / 1e9;
}

}  // namespace unl::bench
