// World-size invariance of the whole run loop: the same job on N ranks (N = 2, 3 under mpiexec)
// and on one process (rank 0 alone, LocalCommunicator) gives the same per-step losses and final
// weights to float tolerance. The single-process run is the independent expectation.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "comm/communicator.h"
#include "comm/messages.h"
#include "driver/job_config.h"
#include "driver/run_loop.h"
#include "model/model.h"

namespace {
namespace fs = std::filesystem;
using unl::driver::JobConfig;

std::unique_ptr<unl::comm::Communicator> world() {
  unl::comm::CommOptions o;
  o.backend = "mpi";
  o.stall_timeout_s = 300;
  return unl::comm::make_communicator(o);
}

// A scratch directory shared by all ranks (same machine), made by rank 0.
std::string shared_dir(unl::comm::Communicator& comm, const std::string& name) {
  std::string dir;
  if (comm.rank() == 0) {
    dir = (fs::temp_directory_path() / ("unl-mpi-" + name + "-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  unl::comm::broadcast_object(comm, dir);
  return dir;
}

void write_fixture(const std::string& dir) {
  unl::model::ModelConfig c;
  c.family = unl::model::Family::kGptNeo;
  c.vocab_size = 50257;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 64;
  c.window_size = 8;
  c.attention_layers = {"global", "local"};
  torch::manual_seed(11);
  auto m = unl::model::make_causal_lm(c);
  const std::string tok = dir + "/tok";
  unl::model::Tokenizer::gpt2().save(tok);
  unl::model::save_pretrained(*m, dir + "/model", tok);
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

JobConfig job(const std::string& dir, const std::string& out) {
  return JobConfig::from_toml("[model]\npath = '" + dir + "/model'\n[data]\nforget = '" + dir +
                                  "/forget.jsonl'\nretain = '" + dir + "/retain.jsonl'\nmax_tokens = 24\n"
                                  "[optim]\nlr = 1e-3\n[train]\nbatch_size = 4\nmax_epochs = 2\ncheck_weights_every = 1\n"
                                  "[neighbours]\nspan_begin = 0\nspan_end = -1\n"
                                  "[eval]\nn = 3\nsuffix_start = 4\nprefix_len = 6\ngen_len = 6\nnum_beams = 1\n"
                                  "[thresholds]\nma = 0.0\nel = 0.0\nbleu = 0.0\n"
                                  "[output]\ndir = '" + out + "'\nlog_level = 'warn'\n",
                              "test.toml");
}

std::vector<nlohmann::json> step_records(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::ifstream in(out + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "step") v.push_back(j);
  }
  return v;
}

TEST(RunLoop, SameLossesAndWeightsOnNRanksAsOnOne) {
  auto comm = world();
  const std::string dir = shared_dir(*comm, "inv");
  if (comm->rank() == 0) write_fixture(dir);
  comm->barrier();
  EXPECT_EQ(unl::driver::run_job(job(dir, dir + "/multi"), *comm, {}), 0);
  comm->barrier();
  if (comm->rank() == 0) {
    unl::comm::LocalCommunicator local;
    EXPECT_EQ(unl::driver::run_job(job(dir, dir + "/single"), local, {}), 0);
    auto multi = step_records(dir + "/multi"), single = step_records(dir + "/single");
    ASSERT_EQ(multi.size(), single.size());
    ASSERT_GT(multi.size(), 2u);
    for (size_t i = 0; i < multi.size(); ++i) {
      for (const auto& [k, v] : single[i].items()) {
        if (k == "step_s" || k == "tokens_per_s" || !v.is_number_float()) continue;
        EXPECT_NEAR(multi[i][k].get<double>(), v.get<double>(), 1e-5 * (1 + std::abs(v.get<double>())))
            << "step " << i << " term " << k;
      }
    }
    auto a = unl::model::load_pretrained(dir + "/multi/final");
    auto b = unl::model::load_pretrained(dir + "/single/final");
    auto pa = unl::model::hf_state_dict(*a.model), pb = unl::model::hf_state_dict(*b.model);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i)
      EXPECT_TRUE(torch::allclose(pa[i].second, pb[i].second, 1e-5, 1e-6)) << pa[i].first;
    // And the weights did move: the job trained.
    auto init = unl::model::load_pretrained(dir + "/model");
    EXPECT_FALSE(torch::allclose(unl::model::hf_state_dict(*init.model)[0].second, pa[0].second));
    fs::remove_all(dir);
  }
  comm->barrier();
}

}  // namespace
