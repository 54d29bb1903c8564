// train.micro_batch_size splits each rank's share of a global batch into micro-batches whose
// gradients accumulate before the one all-reduce of the step. The token-weighted global mean does
// not change, so the step-1 gradient and loss terms equal the un-split run's on one process (the
// independent expectation) to float tolerance: split on 1 rank, and split on N = 2, 3 ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "driver/job_config.h"
#include "driver/run_loop.h"
#include "tests/mpi/fixture.h"

namespace {
namespace fs = std::filesystem;
using unl::driver::JobConfig;
using unl::mpi_testing::FirstStepGradients;

// Rows of clearly different lengths, so micro-batches pad differently from the whole share.
void write_fixture(const std::string& dir) {
  unl::mpi_testing::save_tiny_gpt_neo(dir, 12);
  std::ofstream f(dir + "/forget.jsonl"), r(dir + "/retain.jsonl");
  for (int i = 0; i < 9; ++i) {
    std::string text = "Record " + std::to_string(i) + ": Jane Roe";
    for (int k = 0; k < i % 4; ++k) text += ", 12 Elm Street, phone 555 01" + std::to_string(10 + i);
    f << nlohmann::json{{"id", i}, {"text", text}}.dump() << "\n";
  }
  for (int i = 0; i < 11; ++i) {
    std::string text = "The weather in town number " + std::to_string(i);
    for (int k = 0; k < i % 3; ++k) text += " was mild and calm today";
    r << nlohmann::json{{"text", text + "."}}.dump() << "\n";
  }
}

JobConfig job(const std::string& dir, const std::string& out, const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"model.path=" + dir + "/model", "data.forget=" + dir + "/forget.jsonl",
                                  "data.retain=" + dir + "/retain.jsonl", "output.dir=" + out,
                                  "data.max_tokens=32", "train.batch_size=6", "train.max_steps=2",
                                  "optim.lr=1e-3", "neighbours.span_begin=0", "neighbours.span_end=-1",
                                  "eval.n=3", "eval.suffix_start=4", "eval.prefix_len=6", "eval.gen_len=6",
                                  "eval.num_beams=1", "thresholds.ma=0", "thresholds.el=0", "thresholds.bleu=0",
                                  "output.log_level=warn", "output.save_final=false"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return JobConfig::from_toml("", "test.toml", all);
}

struct Result {
  nlohmann::json step;
  std::vector<torch::Tensor> grads;
  int passes = 0;
};

Result run(unl::comm::Communicator& comm, const std::string& dir, const std::string& out,
           const std::vector<std::string>& overrides) {
  FirstStepGradients hooks;
  unl::driver::RunOptions o;
  o.hooks = &hooks;
  EXPECT_EQ(unl::driver::run_job(job(dir, out, overrides), comm, o), 0);
  comm.barrier();
  const auto steps = comm.rank() == 0 ? unl::mpi_testing::metrics_records(out, "step") : std::vector<nlohmann::json>{};
  return {steps.empty() ? nlohmann::json{} : steps[0], hooks.saved, hooks.passes};
}

// Tolerances: those of world_invariance_test (fixture.h).
void expect_same(const Result& a, const Result& b, const std::string& what) {
  ASSERT_FALSE(b.step.is_null()) << what;
  unl::mpi_testing::expect_close_step(a.step, b.step, what);
  unl::mpi_testing::expect_close_gradients(a.grads, b.grads, what);
}

void check(const std::vector<std::string>& extra, const std::string& name) {
  auto comm = unl::mpi_testing::world();
  const std::string dir = unl::mpi_testing::shared_dir(*comm, name);
  if (comm->rank() == 0) write_fixture(dir);
  comm->barrier();
  auto with = [&](std::vector<std::string> v) {
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  // N ranks, micro-batches of 1 sample (each rank's share of 6 is 2 or 3 samples).
  const Result split_n = run(*comm, dir, dir + "/split-n", with({"train.micro_batch_size=1"}));
  if (comm->rank() == 0) {
    unl::comm::LocalCommunicator local;
    const Result whole = run(local, dir, dir + "/whole-1", with({"train.micro_batch_size=0"}));
    const Result split_1 = run(local, dir, dir + "/split-1", with({"train.micro_batch_size=4"}));
    expect_same(split_1, whole, "1 rank, micro-batches of 4");
    expect_same(split_n, whole, std::to_string(comm->size()) + " ranks, micro-batches of 1");
    // The split did happen: 6 samples are one backward pass whole, two in micro-batches of 4.
    EXPECT_EQ(whole.passes, 1);
    EXPECT_EQ(split_1.passes, 2);
    fs::remove_all(dir);
  }
  comm->barrier();
}

TEST(MicroBatches, IcuGradientEqualsTheUnsplitOneOn1AndNRanks) { check({}, "mb-icu"); }

TEST(MicroBatches, NpoSequenceMeanIsUnchangedBySplitting) { check({"method.name=npo"}, "mb-npo"); }

}  // namespace
