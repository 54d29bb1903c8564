// CUDA parity: each model family's forward pass and gradients on the GPU equal the CPU ones (the
// CPU path is itself checked against hand-written attention in tests/unit/model). Skips when no
// CUDA device is visible. TF32 is off by default in LibTorch, so fp32 matmuls are true fp32 and the
// tolerance is float summation order only.
#include <gtest/gtest.h>

#include "model/causal_lm.h"
#include "tests/unit/model/nets_reference.h"

namespace unl::model {
namespace {

using testing::random_model;
using testing::tiny_config;

class GpuNets : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  }
};

// Left-padded batch of two rows, so masks and position ids are exercised on the device too.
torch::Tensor batch_ids() { return torch::tensor({{0, 0, 3, 7, 1, 9}, {4, 4, 2, 8, 5, 6}}, torch::kLong); }
torch::Tensor batch_mask() { return torch::tensor({{0, 0, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}}, torch::kLong); }

TEST_P(GpuNets, ForwardMatchesCpu) {
  auto config = tiny_config(GetParam());
  auto cpu = random_model(config, 5);
  auto gpu = random_model(config, 5);
  gpu->to(torch::kCUDA);
  torch::NoGradGuard g;
  auto want = cpu->forward(batch_ids(), batch_mask()).logits;
  auto got = gpu->forward(batch_ids().cuda(), batch_mask().cuda()).logits.cpu();
  EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4)) << "max diff " << (got - want).abs().max().item<double>();
}

TEST_P(GpuNets, GradientsMatchCpu) {
  auto config = tiny_config(GetParam());
  auto cpu = random_model(config, 6);
  auto gpu = random_model(config, 6);
  gpu->to(torch::kCUDA);
  auto loss_of = [](CausalLMImpl& m, const torch::Tensor& ids, const torch::Tensor& mask) {
    auto logits = m.forward(ids, mask).logits;  // next-token cross-entropy on the real tokens
    auto lp = torch::log_softmax(logits.slice(1, 0, -1), -1);
    auto tgt = ids.slice(1, 1);
    auto nll = -lp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1) * mask.slice(1, 1).to(lp.dtype());
    return nll.sum() / mask.slice(1, 1).sum();
  };
  loss_of(*cpu, batch_ids(), batch_mask()).backward();
  loss_of(*gpu, batch_ids().cuda(), batch_mask().cuda()).backward();
  auto want = cpu->named_parameters();
  for (const auto& p : gpu->named_parameters()) {
    auto g = p.value().grad().cpu();
    auto w = want[p.key()].grad();
    EXPECT_TRUE(torch::allclose(g, w, 1e-4, 1e-5)) << p.key() << " max diff " << (g - w).abs().max().item<double>();
  }
}

std::string test_name(const ::testing::TestParamInfo<Family>& info) {
  switch (info.param) {
    case Family::kGptNeo: return "GptNeo";
    case Family::kGpt2: return "Gpt2";
    case Family::kLlama: return "Llama";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Families, GpuNets, ::testing::Values(Family::kGptNeo, Family::kGpt2, Family::kLlama),
                         test_name);

}  // namespace
}  // namespace unl::model
