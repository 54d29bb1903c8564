// train.micro_batch_size splits each rank's share of a global batch into micro-batches whose
// gradients accumulate before the one all-reduce of the step. The token-weighted global mean does
// not change, so the step-1 gradient and loss terms equal the un-split run's on one process (the
// independent expectation) to float tolerance: split on 1 rank, and split on N = 2, 3 ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "comm/communicator.h"
#include "comm/messages.h"
#include "driver/job_config.h"
#include "driver/run_hooks.h"
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

// Rows of clearly different lengths, so micro-batches pad differently from the whole share.
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
  torch::manual_seed(12);
  auto m = unl::model::make_causal_lm(c);
  const std::string tok = dir + "/tok";
  unl::model::Tokenizer::gpt2().save(tok);
  unl::model::save_pretrained(*m, dir + "/model", tok);
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

nlohmann::json first_step(const std::string& out) {
  std::ifstream in(out + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "step") return j;
  }
  return {};
}

class FirstStepGradients : public unl::driver::RunHooks {
 public:
  void after_gradients_reduced(int64_t step, const std::vector<torch::Tensor>& grads) override {
    if (step != 1) return;
    for (const auto& g : grads) saved.push_back(g.detach().clone());
  }
  // Called once per micro-batch: how many backward passes step 1 took on this rank.
  void after_local_loss(int64_t step, int, int, unl::unlearn::StepLoss&) override { passes += step == 1; }
  std::vector<torch::Tensor> saved;
  int passes = 0;
};

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
  return {comm.rank() == 0 ? first_step(out) : nlohmann::json{}, hooks.saved, hooks.passes};
}

// Tolerance as in world_invariance_test: fp32 sums over the batch's tokens in another order.
void expect_same(const Result& a, const Result& b, const std::string& what) {
  ASSERT_FALSE(b.step.is_null()) << what;
  for (const auto& [k, v] : b.step.items()) {
    if (k == "step_s" || k == "tokens_per_s" || !v.is_number_float()) continue;
    EXPECT_NEAR(a.step[k].get<double>(), v.get<double>(), 1e-5 * (1 + std::abs(v.get<double>()))) << what << " " << k;
  }
  ASSERT_EQ(a.grads.size(), b.grads.size()) << what;
  ASSERT_FALSE(a.grads.empty()) << what;
  for (size_t i = 0; i < a.grads.size(); ++i) {
    const double scale = b.grads[i].abs().max().item<double>();
    EXPECT_LE((a.grads[i] - b.grads[i]).abs().max().item<double>(), 1e-5 * scale + 1e-9) << what << " gradient " << i;
  }
}

void check(const std::vector<std::string>& extra, const std::string& name) {
  auto comm = world();
  const std::string dir = shared_dir(*comm, name);
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
