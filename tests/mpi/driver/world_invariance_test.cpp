// World-size invariance of the whole run loop: the same job on N ranks (N = 2, 3 under mpiexec)
// and on one process (rank 0 alone, LocalCommunicator). Default reductions: the same gradient and
// loss to float tolerance; deterministic reductions: bit-identical losses and final weights.
// The single-process run is the independent expectation.
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
using unl::mpi_testing::shared_dir;
using unl::mpi_testing::world;

void write_fixture(const std::string& dir) {
  unl::mpi_testing::save_tiny_gpt_neo(dir, 11);
  std::ofstream f(dir + "/forget.jsonl"), r(dir + "/retain.jsonl");
  for (int i = 0; i < 7; ++i)
    f << nlohmann::json{{"id", i}, {"text", "Record " + std::to_string(i) + ": Jane Roe, 12 Elm Street, phone 555 01" +
                                                std::to_string(10 + i)}}
             .dump()
      << "\n";
  for (int i = 0; i < 9; ++i)
    r << nlohmann::json{{"text", "The weather in town number " + std::to_string(i) + " was mild and calm today."}}.dump()
      << "\n";
}

JobConfig job(const std::string& dir, const std::string& out, const std::vector<std::string>& overrides = {}) {
  return JobConfig::from_toml("[model]\npath = '" + dir + "/model'\n[data]\nforget = '" + dir +
                                  "/forget.jsonl'\nretain = '" + dir + "/retain.jsonl'\nmax_tokens = 24\n"
                                  "[optim]\nlr = 1e-3\n[train]\nbatch_size = 4\nmax_epochs = 2\ncheck_weights_every = 1\n"
                                  "[neighbours]\nspan_begin = 0\nspan_end = -1\n"
                                  "[eval]\nn = 3\nsuffix_start = 4\nprefix_len = 6\ngen_len = 6\nnum_beams = 1\n"
                                  "[thresholds]\nma = 0.0\nel = 0.0\nbleu = 0.0\n"
                                  "[output]\ndir = '" + out + "'\nlog_level = 'warn'\n",
                              "test.toml", overrides);
}

// Runs the job on all ranks (MPI) and then on rank 0 alone (the independent expectation).
struct Runs {
  std::vector<nlohmann::json> multi, single;
  FirstStepGradients multi_grads, single_grads;
};

void run_both(unl::comm::Communicator& comm, const std::string& dir, const std::vector<std::string>& overrides,
              Runs& runs) {
  unl::driver::RunOptions o;
  o.hooks = &runs.multi_grads;
  EXPECT_EQ(unl::driver::run_job(job(dir, dir + "/multi", overrides), comm, o), 0);
  comm.barrier();
  if (comm.rank() != 0) return;
  unl::comm::LocalCommunicator local;
  o.hooks = &runs.single_grads;
  EXPECT_EQ(unl::driver::run_job(job(dir, dir + "/single", overrides), local, o), 0);
  runs.multi = unl::mpi_testing::metrics_records(dir + "/multi", "step");
  runs.single = unl::mpi_testing::metrics_records(dir + "/single", "step");
}

// Default reductions: the claim is that N ranks compute the gradient and the loss of the same
// global batch as one process, up to the order of float additions. Step 1 is where that claim
// can be checked alone (both runs hold the same weights); later steps start from weights that
// Adam has moved by up to ~lr per element for any last-bit difference in a near-zero gradient,
// which is why bit-identity across world sizes is the deterministic mode's guarantee (below).
// Tolerances: fixture.h (fp32 sums of at most a few hundred products per element, in another
// order, stay within ~1e-5 of the tensor's largest gradient).
TEST(RunLoop, DefaultReductionsGiveTheOneProcessGradientAndLoss) {
  auto comm = world();
  const std::string dir = shared_dir(*comm, "inv-default");
  if (comm->rank() == 0) write_fixture(dir);
  comm->barrier();
  Runs runs;
  run_both(*comm, dir, {}, runs);
  if (comm->rank() == 0) {
    ASSERT_EQ(runs.multi.size(), runs.single.size());
    ASSERT_GT(runs.multi.size(), 2u);
    unl::mpi_testing::expect_close_step(runs.multi[0], runs.single[0], "step 1");
    unl::mpi_testing::expect_close_gradients(runs.multi_grads.saved, runs.single_grads.saved, "step 1");
    fs::remove_all(dir);
  }
  comm->barrier();
}

// Deterministic reductions: per-sample gradients summed exactly, so the whole run (every step's
// loss terms and the final weights) is bit-identical on N ranks and on one process.
TEST(RunLoop, DeterministicReductionsGiveBitIdenticalRunsOnNRanksAsOnOne) {
  auto comm = world();
  const std::string dir = shared_dir(*comm, "inv-det");
  if (comm->rank() == 0) write_fixture(dir);
  comm->barrier();
  Runs runs;
  run_both(*comm, dir, {"runtime.deterministic_reductions=true"}, runs);
  if (comm->rank() == 0) {
    ASSERT_EQ(runs.multi.size(), runs.single.size());
    ASSERT_GT(runs.multi.size(), 2u);
    for (size_t i = 0; i < runs.multi.size(); ++i) {
      for (const auto& [k, v] : runs.single[i].items()) {
        if (unl::mpi_testing::is_measurement(k) || !v.is_number_float()) continue;
        EXPECT_EQ(runs.multi[i][k].get<double>(), v.get<double>()) << "step " << i << " term " << k;
      }
    }
    auto a = unl::model::load_pretrained(dir + "/multi/final");
    auto b = unl::model::load_pretrained(dir + "/single/final");
    auto pa = unl::model::hf_state_dict(*a.model), pb = unl::model::hf_state_dict(*b.model);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i].second, pb[i].second)) << pa[i].first;
    // And the weights did move: the job trained.
    auto init = unl::model::load_pretrained(dir + "/model");
    EXPECT_FALSE(torch::allclose(unl::model::hf_state_dict(*init.model)[0].second, pa[0].second));
    fs::remove_all(dir);
  }
  comm->barrier();
}

}  // namespace
