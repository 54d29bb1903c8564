// Resume validates before it trusts: a checkpoint whose fields were damaged (lengths, ids,
// ranges, missing entries) or that belongs to another job (config, input files) is refused with
// one error naming the field, and a run falls back to the previous good checkpoint. The real
// run loop in-process on one rank (LocalCommunicator) writes the checkpoints these tests damage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "comm/communicator.h"
#include "driver/job_config.h"
#include "driver/run_loop.h"
#include "driver/state_io.h"
#include "model/model.h"

namespace {
namespace fs = std::filesystem;
using unl::driver::CheckpointDamaged;
using unl::driver::CheckpointMismatch;
using unl::driver::JobConfig;

class ResumeValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("unl-resume-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    unl::model::ModelConfig c;
    c.family = unl::model::Family::kGptNeo;
    c.vocab_size = 50257;
    c.hidden_size = 16;
    c.num_layers = 1;
    c.num_heads = 2;
    c.num_kv_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 32;
    c.window_size = 8;
    c.attention_layers = {"global"};
    torch::manual_seed(5);
    auto m = unl::model::make_causal_lm(c);
    unl::model::Tokenizer::gpt2().save(dir_ + "/tok");
    unl::model::save_pretrained(*m, dir_ + "/model", dir_ + "/tok");
    std::ofstream f(dir_ + "/forget.jsonl"), r(dir_ + "/retain.jsonl");
    for (int i = 0; i < 4; ++i) f << nlohmann::json{{"id", 10 + i}, {"text", "Secret number " + std::to_string(i) + " is 4711."}}.dump() << "\n";
    for (int i = 0; i < 5; ++i) r << nlohmann::json{{"text", "Public fact " + std::to_string(i) + ": water is wet."}}.dump() << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  JobConfig config(const std::vector<std::string>& overrides = {}) const {
    std::vector<std::string> all = {"model.path=" + dir_ + "/model", "data.forget=" + dir_ + "/forget.jsonl",
                                    "data.retain=" + dir_ + "/retain.jsonl", "output.dir=" + dir_ + "/out",
                                    "data.max_tokens=12", "train.batch_size=2", "train.max_epochs=2",
                                    "optim.lr=1e-3", "neighbours.span_begin=0", "neighbours.span_end=-1",
                                    "eval.n=2", "eval.suffix_start=2", "eval.prefix_len=4", "eval.gen_len=4",
                                    "eval.num_beams=1", "thresholds.ma=0", "thresholds.el=0", "thresholds.bleu=0",
                                    "output.log_level=error", "output.save_final=false"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    return JobConfig::from_toml("", "test.toml", all);
  }
  int run(const std::vector<std::string>& overrides = {}, const std::string& resume = "") {
    unl::comm::LocalCommunicator local;
    unl::driver::RunOptions o;
    o.resume_path = resume;
    return unl::driver::run_job(config(overrides), local, o);
  }
  std::vector<std::pair<int64_t, std::string>> checkpoints() const {
    return unl::checkpoint::Directory(dir_ + "/out/checkpoints", 3).list();
  }
  // Rewrites checkpoint `path` with `edit` applied (checksums recomputed: the file is sound HDF5,
  // only its meaning is damaged).
  static void rewrite(const std::string& path, const std::function<void(unl::checkpoint::State&)>& edit) {
    auto st = unl::checkpoint::read(path);
    edit(st);
    unl::checkpoint::write(path, st);
  }
  // The error the job's validation gives for checkpoint `path`.
  std::string validation_error(const std::string& path) {
    const JobConfig cfg = config();
    auto loaded = unl::model::load_pretrained(dir_ + "/model");
    JobConfig resolved = cfg;
    resolved.resolve_paths();
    std::vector<int64_t> ids = {10, 11, 12, 13};
    auto ctx = unl::driver::make_resume_context(resolved, ids, 5, true, *loaded.model);
    try {
      unl::driver::validate_checkpoint(unl::checkpoint::read(path), ctx, path);
    } catch (const unl::Error& e) {
      return std::string(dynamic_cast<const CheckpointMismatch*>(&e) ? "mismatch: " : "damaged: ") + e.what();
    }
    return "";
  }

  std::string dir_;
};

TEST_F(ResumeValidation, AGoodCheckpointValidates) {
  ASSERT_EQ(run({"train.max_steps=1"}), 0);
  ASSERT_EQ(checkpoints().size(), 1u);
  EXPECT_EQ(validation_error(checkpoints().back().second), "");
}

TEST_F(ResumeValidation, EachDamagedFieldIsNamed) {
  ASSERT_EQ(run({"train.max_steps=1"}), 0);
  const std::string path = checkpoints().back().second;
  const std::string backup = dir_ + "/good.h5";
  fs::copy_file(path, backup);
  struct Case {
    std::string field;
    std::function<void(unl::checkpoint::State&)> edit;
  };
  const std::vector<Case> cases = {
      {"samples/flags", [](auto& st) { st.tensors["samples/flags"] = torch::ones({3}, torch::kUInt8); }},
      {"samples/flags", [](auto& st) { st.tensors["samples/flags"] = torch::full({4}, 7, torch::kUInt8); }},
      {"samples/neighbour", [](auto& st) { st.tensors["samples/neighbour"] = torch::full({4}, 99, torch::kInt64); }},
      {"samples/forgotten_epoch", [](auto& st) { st.tensors.erase("samples/forgotten_epoch"); }},
      {"samples/latest/ma", [](auto& st) { st.tensors["samples/latest/ma"] = torch::zeros({2}, torch::kFloat64); }},
      {"history/wall_s", [](auto& st) { st.tensors["history/wall_s"] = torch::zeros({5}, torch::kFloat64); }},
      {"example0/after", [](auto& st) { st.strings.erase("example0/after"); }},
      {"'epoch'", [](auto& st) { st.ints["epoch"] = -2; }},
      {"optim_steps", [](auto& st) { st.ints.erase("optim_steps"); }},
      {"optim/exp_avg.transformer.wte.weight",
       [](auto& st) { st.tensors["optim/exp_avg.transformer.wte.weight"] = torch::zeros({3, 3}); }},
      {"scalars/thresholds", [](auto& st) { st.tensors["scalars/thresholds"] = torch::zeros({2}, torch::kFloat64); }},
  };
  for (const auto& c : cases) {
    fs::copy_file(backup, path, fs::copy_options::overwrite_existing);
    rewrite(path, c.edit);
    const std::string err = validation_error(path);
    EXPECT_EQ(err.rfind("damaged: ", 0), 0u) << c.field << ": " << err;
    EXPECT_NE(err.find(c.field), std::string::npos) << c.field << ": " << err;
  }
}

TEST_F(ResumeValidation, AnotherJobsCheckpointIsAMismatch) {
  ASSERT_EQ(run({"train.max_steps=1"}), 0);
  const std::string path = checkpoints().back().second;
  rewrite(path, [](auto& st) { st.tensors["samples/ids"] = torch::tensor({10, 11, 12, 99}); });
  EXPECT_NE(validation_error(path).find("mismatch: "), std::string::npos);
  EXPECT_NE(validation_error(path).find("no longer matches"), std::string::npos);
}

// The retained pool's content is fingerprinted: the same path with other rows is another job.
TEST_F(ResumeValidation, AChangedRetainFileRefusesToResume) {
  ASSERT_EQ(run({"train.max_steps=1"}), 0);
  std::ofstream(dir_ + "/retain.jsonl", std::ios::app) << nlohmann::json{{"text", "One more row."}}.dump() << "\n";
  try {
    run({"train.max_steps=2"});
    FAIL() << "resumed although data.retain changed";
  } catch (const unl::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("data.retain changed since the checkpoint was written"), std::string::npos)
        << e.what();
  }
}

TEST_F(ResumeValidation, ADamagedNewestCheckpointFallsBackToThePreviousGoodOne) {
  ASSERT_EQ(run({"train.max_steps=1"}), 0);
  ASSERT_EQ(run({"train.max_steps=2"}), 0);
  auto all = checkpoints();
  ASSERT_EQ(all.size(), 2u);
  rewrite(all.back().second, [](auto& st) { st.tensors["samples/flags"] = torch::ones({9}, torch::kUInt8); });
  // Resuming skips step 2's damaged file, continues from step 1 and takes step 2 again.
  ASSERT_EQ(run({"train.max_steps=2"}), 0);
  all = checkpoints();
  ASSERT_EQ(all.back().first, 2);
  EXPECT_EQ(validation_error(all.back().second), "");
  // An explicit --resume of a damaged file is refused (no silent substitute).
  rewrite(all.back().second, [](auto& st) { st.ints["batch_in_epoch"] = -1; });
  EXPECT_THROW(run({"train.max_steps=3"}, all.back().second), CheckpointDamaged);
}

}  // namespace
