// What the MPI tests of the run loop and of evaluation share: the world communicator, a scratch
// directory all ranks see, the tiny random GPT-Neo they train or evaluate, the metrics-log reader,
// a hook that keeps step 1's reduced gradients, and the float-tolerance comparison of an N-rank
// step with the one-process step (the independent expectation).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/messages.h"
#include "driver/run_hooks.h"
#include "model/model.h"

namespace unl::mpi_testing {

/// All ranks of mpiexec, with a stall timeout long enough for a loaded 2-core machine.
inline std::unique_ptr<comm::Communicator> world() {
  comm::CommOptions o;
  o.backend = "mpi";
  o.stall_timeout_s = 300;
  return comm::make_communicator(o);
}

/// A scratch directory shared by all ranks (same machine), made empty by rank 0.
inline std::string shared_dir(comm::Communicator& comm, const std::string& name) {
  namespace fs = std::filesystem;
  std::string dir;
  if (comm.rank() == 0) {
    dir = (fs::temp_directory_path() / ("unl-mpi-" + name + "-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  comm::broadcast_object(comm, dir);
  return dir;
}

/// A 2-layer GPT-Neo (one global, one local attention layer) over the GPT-2 vocabulary.
inline model::ModelConfig tiny_gpt_neo_config(int64_t max_positions = 64, int64_t window = 8) {
  model::ModelConfig c;
  c.family = model::Family::kGptNeo;
  c.vocab_size = 50257;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = max_positions;
  c.window_size = window;
  c.attention_layers = {"global", "local"};
  return c;
}

/// Saves a tiny GPT-Neo with weights drawn from `seed` as a Hugging Face directory dir/model,
/// with the GPT-2 tokenizer (also left in dir/tok).
inline void save_tiny_gpt_neo(const std::string& dir, uint64_t seed) {
  torch::manual_seed(seed);
  auto m = model::make_causal_lm(tiny_gpt_neo_config());
  model::Tokenizer::gpt2().save(dir + "/tok");
  model::save_pretrained(*m, dir + "/model", dir + "/tok");
}

/// The records of one type ("step", "epoch", ...) of out/metrics.jsonl, in order.
inline std::vector<nlohmann::json> metrics_records(const std::string& out, const std::string& type) {
  std::vector<nlohmann::json> v;
  std::ifstream in(out + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == type) v.push_back(j);
  }
  return v;
}

/// Keeps a copy of the reduced gradients of step 1 (every rank holds the same sum) and counts the
/// backward passes step 1 took on this rank (one per micro-batch).
class FirstStepGradients : public driver::RunHooks {
 public:
  void after_gradients_reduced(int64_t step, const std::vector<torch::Tensor>& grads) override {
    if (step != 1) return;
    for (const auto& g : grads) saved.push_back(g.detach().clone());
  }
  void after_local_loss(int64_t step, int, int, unlearn::StepLoss&) override { passes += step == 1; }
  std::vector<torch::Tensor> saved;
  int passes = 0;
};

/// Step-record keys that measure the machine (time, memory), not the computation.
inline bool is_measurement(const std::string& key) {
  return key == "step_s" || key == "tokens_per_s" || key == "peak_rss_gib";
}

/// Step records agree in every float term but the measurements: fp32 sums over the batch's tokens in
/// another order stay within ~1e-5 relative.
inline void expect_close_step(const nlohmann::json& got, const nlohmann::json& want, const std::string& what) {
  for (const auto& [k, v] : want.items()) {
    if (is_measurement(k) || !v.is_number_float()) continue;
    if (!got.contains(k)) {
      ADD_FAILURE() << what << ": no " << k;
      continue;
    }
    EXPECT_NEAR(got[k].get<double>(), v.get<double>(), 1e-5 * (1 + std::abs(v.get<double>()))) << what << " " << k;
  }
}

/// Gradients agree within ~1e-5 of each tensor's largest element: fp32 sums of at most a few
/// hundred products per element, in another order.
inline void expect_close_gradients(const std::vector<torch::Tensor>& got, const std::vector<torch::Tensor>& want,
                                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  ASSERT_FALSE(got.empty()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    const double scale = want[i].abs().max().item<double>();
    EXPECT_LE((got[i] - want[i]).abs().max().item<double>(), 1e-5 * scale + 1e-9) << what << " gradient " << i;
  }
}

}  // namespace unl::mpi_testing
