// Activation checkpointing per transformer block: the gradients of every parameter equal the
// non-checkpointed ones bit for bit on CPU (GPT-Neo, GPT-2, Llama with grouped-query attention;
// fp32 and bf16), while the recorded graph is smaller (blocks are single nodes) and each block
// runs once more, in backward.
#include <gtest/gtest.h>

#include <unordered_set>
#include <vector>

#include "model/activation_checkpointing.h"
#include "nets_reference.h"

namespace {
using namespace unl::model;
using namespace unl::model::testing;

// Nodes of the autograd graph reachable from `t`.
size_t graph_nodes(const torch::Tensor& t) {
  std::unordered_set<torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> todo = {t.grad_fn().get()};
  while (!todo.empty()) {
    auto* n = todo.back();
    todo.pop_back();
    if (!n || !seen.insert(n).second) continue;
    for (const auto& e : n->next_edges()) todo.push_back(e.function.get());
  }
  return seen.size();
}

struct Grads {
  std::vector<torch::Tensor> grads;
  size_t nodes = 0;
};

// A loss touching every logit with a different weight, padded rows included.
Grads gradients(CausalLMImpl& m, bool checkpoint) {
  for (auto& p : m.parameters()) p.mutable_grad() = torch::Tensor();
  const int64_t V = m.config().vocab_size;
  auto ids = torch::tensor({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, torch::kInt64).remainder(V).reshape({2, 8});
  auto mask = torch::ones({2, 8}, torch::kInt64);
  mask.index_put_({1, torch::indexing::Slice(5, torch::indexing::None)}, 0);  // right padding
  Grads out;
  torch::Tensor loss;
  {
    ActivationCheckpointing on(checkpoint);
    auto logits = m.forward(ids, mask).logits;
    auto w = torch::linspace(-1.0, 1.0, logits.numel(), torch::kFloat).reshape(logits.sizes());
    loss = (logits.to(torch::kFloat) * w).sum();
  }
  out.nodes = graph_nodes(loss);
  loss.backward();
  for (auto& p : m.parameters()) out.grads.push_back(p.grad().clone());
  return out;
}

class Checkpointing : public ::testing::TestWithParam<std::tuple<Family, torch::Dtype>> {};

TEST_P(Checkpointing, GradientsAreBitIdenticalAndTheGraphShrinks) {
  const auto [family, dtype] = GetParam();
  auto config = tiny_config(family);
  config.num_layers = 3;
  if (family == Family::kGptNeo) config.attention_layers = {"global", "local", "global"};
  auto m = random_model(config, 21);
  m->to(dtype);
  const Grads plain = gradients(*m, false);
  const Grads ckpt = gradients(*m, true);
  ASSERT_EQ(plain.grads.size(), ckpt.grads.size());
  size_t i = 0;
  for (auto& item : m->named_parameters()) {
    ASSERT_TRUE(plain.grads[i].defined()) << item.key();
    EXPECT_TRUE(torch::equal(plain.grads[i], ckpt.grads[i])) << item.key();
    EXPECT_GT(plain.grads[i].abs().max().item<double>(), 0) << item.key();
    ++i;
  }
  // Three blocks collapse into three nodes: the checkpointed graph is smaller.
  EXPECT_LT(ckpt.nodes + 3 * 5, plain.nodes) << "checkpointing did not engage";
}

INSTANTIATE_TEST_SUITE_P(Families, Checkpointing,
                         ::testing::Combine(::testing::Values(Family::kGptNeo, Family::kGpt2, Family::kLlama),
                                            ::testing::Values(torch::kFloat32, torch::kBFloat16)));

// The function itself: the block runs once in forward (without a graph) and once more in
// backward; input and parameter gradients are those of the plain block.
TEST(CheckpointBlock, RecomputesOnceInBackwardAndReturnsInputAndParameterGradients) {
  torch::manual_seed(1);
  auto w = torch::randn({4, 4}, torch::requires_grad());
  auto x0 = torch::randn({3, 4}, torch::requires_grad());
  int calls = 0;
  BlockFn block = [&](const torch::Tensor& x) {
    ++calls;
    return torch::tanh(x.matmul(w)) + x;
  };
  auto plain = (block(x0) * 2).sum();
  plain.backward();
  const auto gw = w.grad().clone(), gx = x0.grad().clone();
  w.mutable_grad() = torch::Tensor();
  x0.mutable_grad() = torch::Tensor();
  calls = 0;
  torch::Tensor y;
  {
    ActivationCheckpointing on(true);
    ASSERT_TRUE(ActivationCheckpointing::active());
    y = checkpoint_block(block, x0 * 1.0, {w});
  }
  EXPECT_FALSE(ActivationCheckpointing::active());
  EXPECT_EQ(calls, 1);
  (y * 2).sum().backward();
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(torch::equal(w.grad(), gw));
  EXPECT_TRUE(torch::equal(x0.grad(), gx));
  {
    // Not while autograd is off: nothing would be recomputed.
    ActivationCheckpointing on(true);
    torch::NoGradGuard ng;
    EXPECT_FALSE(ActivationCheckpointing::active());
  }
}

}  // namespace
