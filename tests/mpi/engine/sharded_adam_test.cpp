// ShardedAdam under mpiexec against replicated unlearn::Adam (the independent expectation: the
// same torch.optim.Adam arithmetic on whole tensors): same weights after several steps, bit for
// bit; the optimiser state assembled at rank 0 equals Adam's; a state saved at one world size
// loads at this one; bad states are refused before anything changes.
#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "common/error.h"
#include "engine/sharded_adam.h"
#include "tests/mpi/fixture.h"
#include "unlearn/adam.h"

namespace {

using unl::unlearn::NamedTensors;

using unl::mpi_testing::world;

// Shapes chosen so tensors straddle rank slices at 2 and 3 ranks and need padding (7, 1, 130).
const std::vector<std::vector<int64_t>> kShapes = {{7}, {33, 5}, {1}, {130}, {4, 4, 4}, {257}};

NamedTensors make_params(uint64_t seed, torch::Dtype dtype = torch::kFloat32) {
  torch::manual_seed(seed);
  NamedTensors out;
  for (size_t i = 0; i < kShapes.size(); ++i)
    out.emplace_back("w" + std::to_string(i), torch::randn(kShapes[i]).to(dtype));
  return out;
}

// Step s's gradient of tensor i: the same on every rank (as after an all-reduce).
torch::Tensor grad(size_t i, int s) {
  torch::manual_seed(1000 + 17 * s + static_cast<int64_t>(i));
  return torch::randn(kShapes[i]) * (1e-3 * (s + 1));
}

// One step of both optimisers on step s's gradients: replicated Adam on `ref`, and the sharded
// one on its slice of the same gradients (as stage 1 takes it from the all-reduced ones).
void step_both(unl::comm::Communicator& comm, NamedTensors& ref, unl::unlearn::Adam& adam,
               unl::engine::ShardedAdam& sharded, int s) {
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < kShapes.size(); ++i) {
    ref[i].second.mutable_grad().copy_(grad(i, s));
    grads.push_back(grad(i, s));
  }
  adam.step();
  sharded.take_slice(grads);
  sharded.step(comm);
}

unl::unlearn::AdamOptions options() {
  unl::unlearn::AdamOptions o;
  o.lr = 1e-2;
  return o;
}

TEST(ShardedAdam, StageOneStepsEqualReplicatedAdamBitForBit) {
  auto comm = world();
  // Replicated reference.
  auto ref = make_params(3);
  for (auto& [n, p] : ref) p.mutable_grad() = torch::zeros_like(p);
  unl::unlearn::Adam adam(ref, options());
  // Sharded: the model's parameters are the targets; Adam's state is this rank's slice.
  auto model = make_params(3);
  std::vector<torch::Tensor> targets;
  for (auto& [n, p] : model) targets.push_back(p);
  unl::engine::ShardedAdam sharded(model, targets, options(), comm->size(), comm->rank(), /*bucket_bytes=*/400);
  for (int s = 0; s < 5; ++s) step_both(*comm, ref, adam, sharded, s);
  for (size_t i = 0; i < kShapes.size(); ++i)
    EXPECT_TRUE(torch::equal(targets[i], ref[i].second)) << ref[i].first;
  // The optimiser state assembled at rank 0 is Adam's, under Adam's names.
  const auto state = sharded.gather_state(*comm, 0);
  const auto masters = sharded.gather_masters(*comm, 0);
  if (comm->rank() == 0) {
    const auto expected = adam.state();
    ASSERT_EQ(state.size(), expected.size());
    for (size_t k = 0; k < state.size(); ++k) {
      EXPECT_EQ(state[k].first, expected[k].first);
      EXPECT_TRUE(torch::equal(state[k].second, expected[k].second)) << state[k].first;
    }
    ASSERT_EQ(masters.size(), kShapes.size());
    for (size_t i = 0; i < kShapes.size(); ++i) EXPECT_TRUE(torch::equal(masters[i].second, ref[i].second));
  } else {
    EXPECT_TRUE(state.empty());
  }
  EXPECT_EQ(sharded.steps(), 5);
}

TEST(ShardedAdam, ReduceScatterSumsOverRanksIntoTheSlice) {
  auto comm = world();
  const int n = comm->size(), r = comm->rank();
  auto model = make_params(4);
  std::vector<torch::Tensor> targets;
  for (auto& [name, p] : model) targets.push_back(p);
  unl::engine::ShardedAdam sharded(model, targets, options(), n, r, /*bucket_bytes=*/256);
  // Rank q contributes (q + 1) * g: the sum is n (n + 1) / 2 * g, for bf16 and int64 inputs too.
  std::vector<torch::Tensor> mine_f, mine_bf, mine_i;
  std::vector<torch::Tensor> expected;
  for (size_t i = 0; i < kShapes.size(); ++i) {
    const auto g = grad(i, 0).mul(1000).round();  // small integers: exact in bf16, fp32 and int64
    mine_f.push_back(g * (r + 1));
    mine_bf.push_back((g * (r + 1)).to(torch::kBFloat16));
    mine_i.push_back((g * (r + 1)).to(torch::kInt64));
    expected.push_back(g * (n * (n + 1) / 2));
  }
  // The expected slice, packed by hand from the layout.
  const auto& layout = sharded.layout();
  const auto [begin, end] = sharded.range();
  auto want = torch::zeros({end - begin});
  for (const auto& p : layout.pieces(begin, end))
    want.narrow(0, p.flat_offset - begin, p.length).copy_(expected[p.tensor].reshape({-1}).narrow(0, p.tensor_offset, p.length));
  EXPECT_TRUE(torch::equal(sharded.reduce_scatter(*comm, mine_f, torch::kFloat32), want));
  EXPECT_TRUE(torch::equal(sharded.reduce_scatter(*comm, mine_bf, torch::kFloat32), want));
  EXPECT_TRUE(torch::equal(sharded.reduce_scatter(*comm, mine_i, torch::kInt64), want.to(torch::kInt64)));
}

TEST(ShardedAdam, StateSavedAtAnyWorldSizeLoadsHereAndBadStateIsRefused) {
  auto comm = world();
  // A replicated Adam after 3 steps stands for a checkpoint written at another world size.
  auto ref = make_params(5);
  for (auto& [n, p] : ref) p.mutable_grad() = torch::zeros_like(p);
  unl::unlearn::Adam adam(ref, options());
  for (int s = 0; s < 3; ++s) {
    for (size_t i = 0; i < kShapes.size(); ++i) ref[i].second.mutable_grad().copy_(grad(i, s));
    adam.step();
  }
  std::map<std::string, torch::Tensor> saved;
  for (const auto& [name, p] : ref) saved[name] = p.detach().clone();
  auto weight = [&](const std::string& name) -> const torch::Tensor& { return saved.at(name); };
  // Load into a sharded optimiser over a bf16 model (bf16-mixed): then both take the same steps.
  auto model = make_params(99, torch::kBFloat16);
  std::vector<torch::Tensor> targets;
  for (auto& [n, p] : model) targets.push_back(p);
  unl::engine::ShardedAdam sharded(model, targets, options(), comm->size(), comm->rank(), 1 << 20);
  // Refused, and nothing changes: a missing moment, a wrong shape, an extra tensor.
  auto state = adam.state();
  auto missing = state;
  missing.pop_back();
  EXPECT_THROW(sharded.load(weight, missing, 3), unl::Error);
  auto extra = state;
  extra.emplace_back("exp_avg.nope", torch::zeros({1}));
  EXPECT_THROW(sharded.load(weight, extra, 3), unl::Error);
  auto wrong = state;
  wrong[0].second = torch::zeros({8});
  EXPECT_THROW(sharded.load(weight, wrong, 3), unl::Error);
  EXPECT_EQ(sharded.steps(), 0);
  sharded.load(weight, state, 3);
  EXPECT_EQ(sharded.steps(), 3);
  for (int s = 3; s < 5; ++s) step_both(*comm, ref, adam, sharded, s);
  for (size_t i = 0; i < kShapes.size(); ++i) {
    EXPECT_EQ(targets[i].scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(targets[i], ref[i].second.to(torch::kBFloat16))) << ref[i].first;
  }
}

}  // namespace
