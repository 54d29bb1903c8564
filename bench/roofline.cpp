// The machine's limits, measured through the same libraries the product uses: fp32 GEMM GFLOP/s
// through LibTorch (one thread and all threads), the same GEMM on denormal inputs with flush-to-zero
// off and on, and memory copy GB/s. Prints one JSON line each.
// Usage: bench_roofline [matrix_size=1024] [repeats=10]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double gemm_gflops(int64_t n, int repeats, int threads) {
  torch::set_num_threads(threads);
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);  // warm up
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now();
    torch::mm_out(c, a, b);
    best = std::min(best, now() - t0);
  }
  return 2.0 * n * n * n / best / 1e9;
}

// GEMM whose left operand is all denormal floats (what softmax gradients over a 50k vocabulary
// hold when a trained model is very sure), with the CPU's flush-to-zero mode off and on.
double denormal_gemm_gflops(int64_t n, int repeats, bool flush) {
  at::globalContext().setFlushDenormal(flush);
  auto a = torch::randn({n, n}) * 1e-39, b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now();
    torch::mm_out(c, a, b);
    best = std::min(best, now() - t0);
  }
  at::globalContext().setFlushDenormal(false);
  return 2.0 * n * n * n / best / 1e9;
}

double copy_gbs(size_t bytes, int repeats) {
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  std::memcpy(dst.data(), src.data(), bytes);
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now();
    std::memcpy(dst.data(), src.data(), bytes);
    best = std::min(best, now() - t0);
  }
  // A copy reads and writes every byte.
  return 2.0 * static_cast<double>(bytes) / best / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 1024;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  const int all = static_cast<int>(std::max<int64_t>(1, torch::get_num_interop_threads()));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const double g1 = gemm_gflops(n, repeats, 1);
  const double gall = gemm_gflops(n, repeats, cores);
  std::printf("{\"bench\": \"gemm_fp32\", \"n\": %lld, \"threads\": 1, \"gflops\": %.1f}\n", static_cast<long long>(n), g1);
  std::printf("{\"bench\": \"gemm_fp32\", \"n\": %lld, \"threads\": %d, \"gflops\": %.1f}\n", static_cast<long long>(n),
              cores, gall);
  torch::set_num_threads(1);
  const int64_t dn = std::min<int64_t>(n, 512);
  std::printf("{\"bench\": \"gemm_fp32_denormal\", \"n\": %lld, \"threads\": 1, \"gflops_flush_off\": %.2f, "
              "\"gflops_flush_on\": %.1f}\n",
              static_cast<long long>(dn), denormal_gemm_gflops(dn, 2, false), denormal_gemm_gflops(dn, 2, true));
  std::printf("{\"bench\": \"memcpy\", \"bytes\": %d, \"gbs\": %.2f}\n", 256 << 20, copy_gbs(256u << 20, 5));
  (void)all;
  return 0;
}
