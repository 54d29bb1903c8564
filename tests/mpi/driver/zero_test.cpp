// ZeRO stages under mpiexec: stage 1 (optimizer state sharded) and stage 2 (gradients too) must
// train to the weights of stage 0 (replicated Adam), which is the independent expectation here:
// to 1e-6 relative with default reductions, bit for bit with deterministic reductions, for fp32
// and bf16-mixed; and a checkpoint written at one stage resumes at another.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "comm/communicator.h"
#include "checkpoint/checkpoint.h"
#include "comm/messages.h"
#include "driver/job_config.h"
#include "driver/run_loop.h"
#include "model/model.h"
#include "tests/mpi/fixture.h"

namespace {
namespace fs = std::filesystem;
using unl::driver::JobConfig;

using unl::mpi_testing::shared_dir;
using unl::mpi_testing::world;

// A Llama-family model (untied embeddings, several tensor shapes) so the flat layout has many
// tensors that straddle rank slices.
void write_fixture(const std::string& dir) {
  unl::model::ModelConfig c;
  c.family = unl::model::Family::kLlama;
  c.activation = "silu";
  c.tie_word_embeddings = false;
  c.vocab_size = 50257;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.intermediate_size = 48;
  c.max_position_embeddings = 64;
  torch::manual_seed(5);
  auto m = unl::model::make_causal_lm(c);
  const std::string tok = dir + "/tok";
  unl::model::Tokenizer::gpt2().save(tok);
  unl::model::save_pretrained(*m, dir + "/model", tok);
  std::ofstream f(dir + "/forget.jsonl"), r(dir + "/retain.jsonl");
  for (int i = 0; i < 7; ++i)
    f << nlohmann::json{{"id", i}, {"text", "Record " + std::to_string(i) + ": John Doe, 4 Oak Lane, phone 555 02" +
                                                std::to_string(10 + i)}}
             .dump()
      << "\n";
  for (int i = 0; i < 9; ++i)
    r << nlohmann::json{{"text", "The river near village " + std::to_string(i) + " ran slow and clear all summer."}}.dump()
      << "\n";
}

JobConfig job(const std::string& dir, const std::string& out, const std::vector<std::string>& overrides) {
  return JobConfig::from_toml("[model]\npath = '" + dir + "/model'\n[data]\nforget = '" + dir +
                                  "/forget.jsonl'\nretain = '" + dir + "/retain.jsonl'\nmax_tokens = 24\n"
                                  "[optim]\nlr = 1e-3\n[train]\nbatch_size = 4\nmax_epochs = 2\nmicro_batch_size = 1\n"
                                  "check_weights_every = 1\n"
                                  "[neighbours]\nspan_begin = 0\nspan_end = -1\n"
                                  "[eval]\nn = 3\nsuffix_start = 4\nprefix_len = 6\ngen_len = 6\nnum_beams = 1\n"
                                  "[thresholds]\nma = 0.0\nel = 0.0\nbleu = 0.0\n"
                                  "[runtime]\nbucket_mb = 0.01\n"
                                  "[output]\ndir = '" + out + "'\nlog_level = 'warn'\n",
                              "test.toml", overrides);
}

std::vector<torch::Tensor> final_weights(const std::string& out) {
  auto loaded = unl::model::load_pretrained(out + "/final");
  std::vector<torch::Tensor> w;
  for (auto& [name, p] : unl::model::hf_state_dict(*loaded.model)) w.push_back(p.detach().to(torch::kFloat64).clone());
  return w;
}

// ||a - b|| / ||b|| over all weights.
double relative_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]).pow(2).sum().item<double>();
    den += b[i].pow(2).sum().item<double>();
  }
  return std::sqrt(num / den);
}

bool identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

class Zero : public ::testing::Test {
 protected:
  void SetUp() override {
    comm_ = world();
    dir_ = shared_dir(*comm_, "zero-stages");
    if (comm_->rank() == 0) write_fixture(dir_);
    comm_->barrier();
  }
  void TearDown() override {
    comm_->barrier();
    if (comm_->rank() == 0) fs::remove_all(dir_);
  }
  // Runs the job on every rank into dir_/name; rank 0 returns the final weights.
  std::vector<torch::Tensor> run(const std::string& name, std::vector<std::string> overrides) {
    EXPECT_EQ(unl::driver::run_job(job(dir_, dir_ + "/" + name, overrides), *comm_, {}), 0) << name;
    comm_->barrier();
    return comm_->rank() == 0 ? final_weights(dir_ + "/" + name) : std::vector<torch::Tensor>{};
  }
  std::unique_ptr<unl::comm::Communicator> comm_;
  std::string dir_;
};

TEST_F(Zero, StagesOneAndTwoTrainToStageZerosWeights) {
  for (std::string precision : {"fp32", "bf16-mixed"}) {
    const auto s0 = run("s0-" + precision, {"train.zero_stage=0", "train.precision=" + precision});
    const auto s1 = run("s1-" + precision, {"train.zero_stage=1", "train.precision=" + precision});
    const auto s2 = run("s2-" + precision, {"train.zero_stage=2", "train.precision=" + precision});
    if (comm_->rank() == 0) {
      auto start = unl::model::load_pretrained(dir_ + "/model");
      std::vector<torch::Tensor> w0;
      for (auto& [name, p] : unl::model::hf_state_dict(*start.model)) w0.push_back(p.detach().to(torch::kFloat64));
      EXPECT_GT(relative_difference(s0, w0), 1e-4) << "the job must move the weights";
      // Stage 1 reads the same all-reduced gradient as stage 0: the same elementwise Adam.
      EXPECT_LE(relative_difference(s1, s0), 1e-6) << precision;
      // Stage 2 sums per micro-batch over ranks: float rounding only.
      EXPECT_LE(relative_difference(s2, s0), precision == "fp32" ? 1e-6 : 1e-3) << precision;
    }
  }
}

TEST_F(Zero, DeterministicReductionsMakeEveryStageBitIdentical) {
  const std::vector<std::string> det = {"runtime.deterministic_reductions=true"};
  auto with = [&](std::vector<std::string> o) {
    o.insert(o.end(), det.begin(), det.end());
    return o;
  };
  const auto s0 = run("d0", with({"train.zero_stage=0"}));
  const auto s1 = run("d1", with({"train.zero_stage=1"}));
  const auto s2 = run("d2", with({"train.zero_stage=2"}));
  const auto m0 = run("m0", with({"train.zero_stage=0", "train.precision=bf16-mixed"}));
  const auto m2 = run("m2", with({"train.zero_stage=2", "train.precision=bf16-mixed"}));
  if (comm_->rank() == 0) {
    EXPECT_TRUE(identical(s1, s0));
    EXPECT_TRUE(identical(s2, s0));
    EXPECT_TRUE(identical(m2, m0));
  }
}

// A checkpoint written at stage 2 resumes at stage 1 (and the reverse) and finishes exactly where
// an uninterrupted stage-0 run does: the checkpoint format is the same at every stage.
TEST_F(Zero, CheckpointsResumeAcrossStages) {
  const std::vector<std::string> det = {"runtime.deterministic_reductions=true", "train.precision=bf16-mixed"};
  auto with = [&](std::vector<std::string> o) {
    o.insert(o.end(), det.begin(), det.end());
    return o;
  };
  const auto whole = run("whole", with({"train.zero_stage=0"}));
  run("split", with({"train.zero_stage=2", "train.max_steps=2"}));
  const auto resumed = run("split", with({"train.zero_stage=1"}));
  run("split0", with({"train.zero_stage=1", "train.max_steps=3"}));
  const auto resumed0 = run("split0", with({"train.zero_stage=0"}));
  if (comm_->rank() == 0) {
    EXPECT_TRUE(identical(resumed, whole));
    EXPECT_TRUE(identical(resumed0, whole));
    // The second runs resumed (a fresh run would also end at `whole`): their newest checkpoint
    // records two sessions and was written by a job that started at step 2 / 3.
    for (const std::string name : {"split", "split0"}) {
      const auto all = unl::checkpoint::Directory(dir_ + "/" + name + "/checkpoints", 100).list();
      ASSERT_FALSE(all.empty()) << name;
      EXPECT_EQ(unl::checkpoint::read(all.back().second).ints.at("sessions"), 2) << name;
    }
  }
}

}  // namespace
