// train.precision = bf16-mixed against fp32 on one small random GPT-Neo at the paper's lr 5e-6:
// the fp32 run is the independent expectation (same init, rows and ICU loss). bf16-mixed must
// move the weights by what fp32 moves and follow its loss trajectory; Adam on bf16 weights in
// place (the refused pure-low-precision path) is shown to lose most updates.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "common/error.h"
#include "driver/job_config.h"
#include "driver/run_loop.h"

#include "comm/communicator.h"
#include "driver/run_hooks.h"
#include "driver/trainer.h"
#include "model/model.h"
#include "unlearn/adam.h"
#include "unlearn/method.h"

namespace {
using unl::driver::LocalRows;
using unl::driver::Trainer;
using unl::driver::TrainerOptions;

unl::model::ModelConfig small_neo() {
  unl::model::ModelConfig c;
  c.family = unl::model::Family::kGptNeo;
  c.vocab_size = 96;
  c.bos_token_id = c.eos_token_id = 95;  // the defaults are GPT-2's 50256, outside this vocabulary
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 32;
  c.window_size = 8;
  c.attention_layers = {"global", "local"};
  return c;
}

// Random token rows (ids 1..95; 0 is the pad id), ragged so padding is exercised.
std::vector<std::vector<int64_t>> random_rows(int64_t n, int64_t seed) {
  torch::manual_seed(seed);
  std::vector<std::vector<int64_t>> rows;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 16 + (i % 3) * 4;
    auto t = torch::randint(1, 96, {len}, torch::kInt64);
    rows.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + len);
  }
  return rows;
}

struct TrainRun {
  unl::model::CausalLM model, reference;
  std::unique_ptr<Trainer> trainer;
  std::vector<double> losses;
};

TrainRun make_run(unl::model::CausalLMImpl& init, bool mixed) {
  TrainRun r;
  r.model = unl::model::clone_causal_lm(init);
  r.reference = unl::model::clone_causal_lm(init);
  for (auto& p : r.reference->parameters()) p.set_requires_grad(false);
  if (mixed) r.reference->to(torch::kBFloat16);
  TrainerOptions o;
  o.optim.lr = 5e-6;
  o.pad_id = 0;
  o.batch_size = 4;
  o.bf16_mixed = mixed;
  r.trainer = std::make_unique<Trainer>(*r.model, r.reference.get(), unl::unlearn::make_method("icu", {}), o);
  return r;
}

void steps(TrainRun& r, const std::vector<std::vector<int64_t>>& forget, const std::vector<std::vector<int64_t>>& nb,
           int n) {
  unl::comm::LocalCommunicator local;
  for (int s = 0; s < n; ++s) {
    LocalRows rows;
    for (size_t i = 0; i < forget.size(); ++i) {
      rows.ids.push_back(static_cast<int64_t>(i));
      rows.forget.push_back(&forget[i]);
      rows.neighbours.push_back(&nb[i]);
    }
    auto stats = r.trainer->compute_gradients(local, rows, s + 1, unl::driver::no_hooks());
    ASSERT_TRUE(stats.finite);
    r.losses.push_back(stats.terms.at("loss"));
    r.trainer->apply(local);
  }
}

torch::Tensor flat(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : ts) parts.push_back(t.detach().to(torch::kFloat64).reshape({-1}));
  return torch::cat(parts);
}

std::vector<torch::Tensor> values(const unl::unlearn::NamedTensors& named) {
  std::vector<torch::Tensor> v;
  for (const auto& [n, t] : named) v.push_back(t);
  return v;
}

TEST(Bf16Mixed, MovesTheWeightsAsFp32DoesAndFollowsItsLoss) {
  torch::manual_seed(3);
  auto init = unl::model::make_causal_lm(small_neo());
  const auto forget = random_rows(4, 100), nb = random_rows(4, 200);
  const auto w0 = flat(init->parameters());

  TrainRun fp32 = make_run(*init, false), mixed = make_run(*init, true);
  for (const auto& p : mixed.trainer->params()) ASSERT_EQ(p.scalar_type(), torch::kBFloat16);
  ASSERT_EQ(mixed.trainer->masters().size(), mixed.trainer->params().size());
  // The masters start as the fp32 weights exactly, not as their bf16 rounding.
  EXPECT_TRUE(torch::equal(flat(values(mixed.trainer->masters())), w0));

  constexpr int kSteps = 20;
  steps(fp32, forget, nb, kSteps);
  steps(mixed, forget, nb, kSteps);

  const auto d32 = flat(fp32.trainer->params()) - w0;
  const auto dmx = flat(values(mixed.trainer->masters())) - w0;
  // Every weight with a gradient moves in both (Adam moves each by ~lr per step whatever its
  // gradient's size); those without one (position embeddings past the longest row, the pad
  // token's embedding: about 1.4% here) stay put in both. So the same weights move.
  const double moved32 = (d32 != 0).to(torch::kFloat64).mean().item<double>();
  const double movedmx = (dmx != 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(moved32, 0.95);
  EXPECT_GT(movedmx, 0.95);
  EXPECT_LT(((d32 != 0) != (dmx != 0)).to(torch::kFloat64).mean().item<double>(), 1e-3);
  // By the same amount: the total movement agrees to 1% and the update directions to a cosine of
  // 0.95 (bf16 gradients carry ~3 significant digits; Adam normalises their size away, so the
  // residual is in the direction of the smallest, noise-dominated gradients).
  const double n32 = d32.norm().item<double>(), nmx = dmx.norm().item<double>();
  EXPECT_NEAR(nmx / n32, 1.0, 0.01);
  const double cosine = (d32 * dmx).sum().item<double>() / (n32 * nmx);
  EXPECT_GT(cosine, 0.95);
  // The model is the masters' bf16 rounding after every step.
  for (size_t i = 0; i < mixed.trainer->params().size(); ++i)
    EXPECT_TRUE(torch::equal(mixed.trainer->params()[i], mixed.trainer->masters()[i].second.to(torch::kBFloat16)));

  // Loss trajectory: bf16 forward/backward gives every step's loss within 2e-3 (relative) of
  // fp32's, and the same decrease over the 20 steps to 10%.
  ASSERT_EQ(fp32.losses.size(), mixed.losses.size());
  for (int s = 0; s < kSteps; ++s)
    EXPECT_NEAR(mixed.losses[s], fp32.losses[s], 2e-3 * std::abs(fp32.losses[s])) << "step " << s + 1;
  const double drop32 = fp32.losses.front() - fp32.losses.back();
  const double dropmx = mixed.losses.front() - mixed.losses.back();
  EXPECT_GT(drop32, 0);
  EXPECT_NEAR(dropmx, drop32, 0.1 * drop32);
}

// What bf16-mixed prevents: Adam updating bf16 weights in place at lr 5e-6 leaves most of them
// where they were (the update is below half an ulp), while the same steps on fp32 masters move
// (nearly) all of them. This is why model.dtype = bfloat16 with train.precision = fp32 is refused.
TEST(Bf16Mixed, PureBf16AdamLosesTheUpdatesMastersKeep) {
  torch::manual_seed(4);
  auto w = torch::randn({4096}) * 0.02;
  auto g = torch::randn({4096}) * 1e-3;
  auto pure = w.to(torch::kBFloat16).requires_grad_(false);
  pure.mutable_grad() = g.to(torch::kBFloat16);
  auto master = w.to(torch::kBFloat16).to(torch::kFloat32);
  master.mutable_grad() = g.to(torch::kBFloat16).to(torch::kFloat32);
  unl::unlearn::Adam a({{"w", pure}}), b({{"w", master}});
  const auto pure0 = pure.clone(), master0 = master.clone();
  for (int s = 0; s < 3; ++s) a.step(), b.step();
  const double pure_moved = (pure != pure0).to(torch::kFloat64).mean().item<double>();
  const double master_moved = (master != master0).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(master_moved, 0.99);
  EXPECT_LT(pure_moved, 0.25);
}

// Checkpoint/resume through the real run loop (one rank): the fp32 master weights and the fp32
// moments are job state, so stopping at step 2 and resuming to step 4 gives the uninterrupted
// run's step-4 state bit for bit; and an fp32 checkpoint may be resumed as bf16-mixed.
class PrecisionResume : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    dir_ = (fs::temp_directory_path() / ("unl-prec-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto c = small_neo();
    c.vocab_size = 50257;  // the built-in GPT-2 tokenizer's
    c.hidden_size = 16;
    c.intermediate_size = 32;
    torch::manual_seed(5);
    auto m = unl::model::make_causal_lm(c);
    unl::model::Tokenizer::gpt2().save(dir_ + "/tok");
    unl::model::save_pretrained(*m, dir_ + "/model", dir_ + "/tok");
    std::ofstream f(dir_ + "/forget.jsonl"), r(dir_ + "/retain.jsonl");
    for (int i = 0; i < 4; ++i)
      f << nlohmann::json{{"id", 10 + i}, {"text", "Secret number " + std::to_string(i) + " is 4711."}}.dump() << "\n";
    for (int i = 0; i < 5; ++i)
      r << nlohmann::json{{"text", "Public fact " + std::to_string(i) + ": water is wet."}}.dump() << "\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int run(const std::string& out, const std::vector<std::string>& overrides) {
    std::vector<std::string> all = {"model.path=" + dir_ + "/model", "data.forget=" + dir_ + "/forget.jsonl",
                                    "data.retain=" + dir_ + "/retain.jsonl", "output.dir=" + dir_ + "/" + out,
                                    "data.max_tokens=12", "train.batch_size=2", "train.max_epochs=3",
                                    "optim.lr=1e-3", "neighbours.span_begin=0", "neighbours.span_end=-1",
                                    "eval.n=2", "eval.suffix_start=2", "eval.prefix_len=4", "eval.gen_len=4",
                                    "eval.num_beams=1", "thresholds.ma=0", "thresholds.el=0", "thresholds.bleu=0",
                                    "output.log_level=error", "output.save_final=false"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    unl::comm::LocalCommunicator local;
    return unl::driver::run_job(unl::driver::JobConfig::from_toml("", "test.toml", all), local, {});
  }
  unl::checkpoint::State newest(const std::string& out) const {
    auto all = unl::checkpoint::Directory(dir_ + "/" + out + "/checkpoints", 3).list();
    EXPECT_FALSE(all.empty());
    return unl::checkpoint::read(all.back().second);
  }
  std::string dir_;
};

TEST_F(PrecisionResume, Bf16MixedResumesBitExactly) {
  ASSERT_EQ(run("whole", {"train.precision=bf16-mixed", "train.max_steps=4"}), 0);
  ASSERT_EQ(run("split", {"train.precision=bf16-mixed", "train.max_steps=2"}), 0);
  ASSERT_EQ(run("split", {"train.precision=bf16-mixed", "train.max_steps=4"}), 0);
  const auto a = newest("whole"), b = newest("split");
  ASSERT_EQ(a.ints.at("step"), 4);
  ASSERT_EQ(b.ints.at("step"), 4);
  size_t masters = 0;
  for (const auto& [name, t] : a.tensors) {
    if (name.rfind("model/", 0) != 0 && name.rfind("master/", 0) != 0 && name.rfind("optim/", 0) != 0) continue;
    masters += name.rfind("master/", 0) == 0;
    ASSERT_TRUE(b.tensors.count(name)) << name;
    EXPECT_EQ(t.scalar_type(), name.rfind("model/", 0) == 0 ? torch::kBFloat16 : torch::kFloat32) << name;
    EXPECT_TRUE(torch::equal(t, b.tensors.at(name))) << name;
  }
  EXPECT_GT(masters, 0u);
}

TEST_F(PrecisionResume, Fp32CheckpointResumesAsBf16Mixed) {
  ASSERT_EQ(run("out", {"train.precision=fp32", "train.max_steps=2"}), 0);
  const auto fp32 = newest("out");
  for (const auto& [name, t] : fp32.tensors) EXPECT_NE(name.rfind("master/", 0), 0u) << name;
  ASSERT_EQ(run("out", {"train.precision=bf16-mixed", "train.max_steps=4"}), 0);
  const auto mixed = newest("out");
  ASSERT_EQ(mixed.ints.at("step"), 4);
  size_t masters = 0;
  for (const auto& [name, t] : fp32.tensors) {
    if (name.rfind("model/", 0) != 0) continue;
    const std::string param = name.substr(6);
    const auto& master = mixed.tensors.at("master/" + param);
    const auto& model = mixed.tensors.at(name);
    ++masters;
    // The masters continued from the fp32 weights (and moved), and the model is their rounding.
    EXPECT_EQ(master.scalar_type(), torch::kFloat32);
    EXPECT_FALSE(torch::equal(master, t)) << param;
    EXPECT_LT((master - t).abs().max().item<double>(), 0.05) << param;
    EXPECT_TRUE(torch::equal(model, master.to(torch::kBFloat16))) << param;
  }
  EXPECT_GT(masters, 0u);
}

TEST_F(PrecisionResume, Bf16WeightsUpdatedInPlaceAreRefused) {
  try {
    run("out", {"model.dtype=bfloat16", "train.precision=fp32"});
    FAIL() << "expected a usage error";
  } catch (const unl::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("train.precision = \"bf16-mixed\""), std::string::npos) << e.what();
  }
}

}  // namespace
