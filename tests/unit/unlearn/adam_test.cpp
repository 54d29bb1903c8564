// Adam against torch::optim::Adam on the same parameters and gradients, and state round trips.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "unlearn/adam.h"

namespace unl::unlearn {
namespace {

TEST(Adam, MatchesTorchAdamStepByStep) {
  torch::manual_seed(41);
  auto a = torch::randn({5, 3}), b = torch::randn({7});
  auto p1 = a.clone().requires_grad_(true), q1 = b.clone().requires_grad_(true);
  auto p2 = a.clone().requires_grad_(true), q2 = b.clone().requires_grad_(true);
  AdamOptions o;
  o.lr = 1e-2;  // large enough that the updates are visible in fp32
  Adam mine({{"p", p1}, {"q", q1}}, o);
  torch::optim::Adam theirs({p2, q2}, torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps));
  for (int step = 0; step < 6; ++step) {
    auto gp = torch::randn({5, 3}), gq = torch::randn({7}) * 1e-3;
    p1.mutable_grad() = gp.clone(), q1.mutable_grad() = gq.clone();
    p2.mutable_grad() = gp.clone(), q2.mutable_grad() = gq.clone();
    mine.step();
    theirs.step();
    EXPECT_TRUE(torch::allclose(p1, p2, 0, 1e-7)) << "step " << step;
    EXPECT_TRUE(torch::allclose(q1, q2, 0, 1e-7)) << "step " << step;
  }
  EXPECT_EQ(mine.steps(), 6);
  EXPECT_FALSE(torch::equal(p1, a));
}

TEST(Adam, FirstStepMovesEachWeightByAboutLr) {
  // m_hat = g, v_hat = g^2 after one step: the update is lr * g / (|g| + eps).
  auto p = torch::zeros({3}).requires_grad_(true);
  Adam adam({{"p", p}}, AdamOptions{});
  p.mutable_grad() = torch::tensor({2.0f, -0.5f, 1e-4f});
  adam.step();
  EXPECT_NEAR(p[0].item<double>(), -5e-6, 1e-12);
  EXPECT_NEAR(p[1].item<double>(), 5e-6, 1e-12);
  EXPECT_NEAR(p[2].item<double>(), -5e-6 * 1e-4 / (1e-4 + 1e-8), 1e-12);
  adam.zero_grad();
  EXPECT_EQ(p.grad().abs().sum().item<double>(), 0.0);
}

TEST(Adam, StateRoundTripContinuesIdentically) {
  torch::manual_seed(42);
  auto init = torch::randn({4, 2});
  auto p1 = init.clone().requires_grad_(true);
  AdamOptions o;
  o.lr = 1e-3;
  Adam a1({{"w", p1}}, o);
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 5; ++i) grads.push_back(torch::randn({4, 2}));
  for (int i = 0; i < 3; ++i) p1.mutable_grad() = grads[i].clone(), a1.step();
  // "Checkpoint": weights and optimiser state copied out, restored into fresh objects.
  auto p2 = p1.detach().clone().requires_grad_(true);
  NamedTensors saved;
  for (auto& [k, v] : a1.state()) saved.emplace_back(k, v.clone());
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].first, "exp_avg.w");
  EXPECT_EQ(saved[1].first, "exp_avg_sq.w");
  Adam a2({{"w", p2}}, o);
  a2.load_state(saved, a1.steps());
  for (int i = 3; i < 5; ++i) {
    p1.mutable_grad() = grads[i].clone(), a1.step();
    p2.mutable_grad() = grads[i].clone(), a2.step();
  }
  EXPECT_TRUE(torch::equal(p1, p2));
  EXPECT_EQ(a2.steps(), 5);
}

TEST(Adam, LoadStateRejectsMissingExtraAndMisshapenTensors) {
  auto p = torch::zeros({2}).requires_grad_(true);
  Adam adam({{"w", p}});
  EXPECT_THROW(adam.load_state({{"exp_avg.w", torch::zeros({2})}}, 1), Error);
  EXPECT_THROW(adam.load_state({{"exp_avg.w", torch::zeros({2})}, {"exp_avg_sq.w", torch::zeros({3})}}, 1), Error);
  EXPECT_THROW(adam.load_state({{"exp_avg.w", torch::zeros({2})},
                                {"exp_avg_sq.w", torch::zeros({2})},
                                {"exp_avg.v", torch::zeros({2})}},
                               1),
               Error);
  EXPECT_EQ(adam.steps(), 0);  // failed loads change nothing
  adam.load_state({{"exp_avg.w", torch::ones({2})}, {"exp_avg_sq.w", torch::ones({2})}}, 4);
  EXPECT_EQ(adam.steps(), 4);
  EXPECT_EQ(adam.state()[0].second.sum().item<double>(), 2.0);
}

}  // namespace
}  // namespace unl::unlearn
