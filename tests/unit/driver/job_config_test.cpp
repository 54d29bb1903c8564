// The job configuration: defaults, types, overrides, all-errors-at-once validation, resume
// conflicts, and the generated reference matching docs/config-reference.md.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "driver/job_config.h"

namespace {

using unl::driver::JobConfig;

const char* kMinimal = R"(
[model]
path = "/models/neo"
[data]
forget = "forget.jsonl"
retain = "pool.jsonl"
)";

std::string usage_message(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    JobConfig::from_toml(text, "job.toml", overrides);
  } catch (const unl::UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(JobConfig, DefaultsAreThePapers) {
  auto c = JobConfig::from_toml(kMinimal, "job.toml");
  EXPECT_EQ(c.method.name, "icu");
  EXPECT_DOUBLE_EQ(c.method.w_forget, 1.0);
  EXPECT_DOUBLE_EQ(c.method.w_learn, 0.5);
  EXPECT_DOUBLE_EQ(c.method.w_kl, 1.0);
  EXPECT_DOUBLE_EQ(c.optim.lr, 5e-6);
  EXPECT_DOUBLE_EQ(c.optim.beta2, 0.98);
  EXPECT_DOUBLE_EQ(c.thresholds.ma, 0.5994);
  EXPECT_DOUBLE_EQ(c.thresholds.el, 0.0499);
  EXPECT_EQ(c.eval.n, 10);
  EXPECT_EQ(c.eval.suffix_start, 150);
}

TEST(JobConfig, OverridesWinAndIntegersPromoteToFloats) {
  auto c = JobConfig::from_toml(std::string(kMinimal) + "[optim]\nlr = 1\n", "job.toml",
                                {"train.batch_size=16", "method.name=ga", "output.dir=\"o u t\"",
                                 "thresholds.use_bleu=false"});
  EXPECT_DOUBLE_EQ(c.optim.lr, 1.0);
  EXPECT_EQ(c.train.batch_size, 16);
  EXPECT_EQ(c.method.name, "ga");
  EXPECT_EQ(c.output.dir, "o u t");
  EXPECT_FALSE(c.thresholds.use_bleu);
}

TEST(JobConfig, AllProblemsReportedAtOnce) {
  const std::string text = std::string(kMinimal) +
                           "[train]\nbatch_size = \"eight\"\nmax_epoch = 3\n"
                           "[optim]\nlr = -1.0\n[method]\nname = \"magic\"\n";
  const std::string msg = usage_message(text, {"nope.key=1", "train.seed=abc"});
  EXPECT_NE(msg.find("'train.batch_size' must be an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("job.toml:9: unknown key 'train.max_epoch'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--set: unknown key 'nope.key'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--set train.seed: 'abc' is not an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 problems"), std::string::npos) << msg;
  // Value checks run once the types are right, again all together.
  const std::string msg2 = usage_message(std::string(kMinimal) + "[optim]\nlr = -1.0\n[method]\nname = \"magic\"\n");
  EXPECT_NE(msg2.find("'optim.lr' must be > 0"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("'method.name' is 'magic'; use one of"), std::string::npos) << msg2;
}

TEST(JobConfig, RequiredKeysAndMethodNeeds) {
  EXPECT_NE(usage_message("").find("'model.path' is required"), std::string::npos);
  const std::string no_pool = "[model]\npath='m'\n[data]\nforget='f.jsonl'\n";
  EXPECT_NE(usage_message(no_pool).find("'data.retain' is required by method 'icu'"), std::string::npos);
  EXPECT_EQ(usage_message(no_pool, {"method.name=ga"}), "");
  EXPECT_NE(usage_message(kMinimal, {"thresholds.mode=calibrate"}).find("needs 'data.heldout'"),
            std::string::npos);
}

// bf16 weights updated in place lose Adam steps below half an ulp: refused, naming both fixes.
TEST(JobConfig, PureLowPrecisionTrainingIsRefusedNamingTheFix) {
  const std::string msg = usage_message(kMinimal, {"model.dtype=bfloat16", "train.precision=fp32"});
  EXPECT_NE(msg.find("train.precision = \"bf16-mixed\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.dtype = \"float32\""), std::string::npos) << msg;
  EXPECT_EQ(usage_message(kMinimal, {"model.dtype=bfloat16"}), "");  // auto: bf16-mixed
  EXPECT_EQ(usage_message(kMinimal, {"model.dtype=bfloat16", "train.precision=bf16-mixed"}), "");
  EXPECT_NE(usage_message(kMinimal, {"train.precision=bf16"}).find("'train.precision' is 'bf16'; use one of"),
            std::string::npos);
  EXPECT_NE(usage_message(kMinimal, {"train.micro_batch_size=-2"}).find("'train.micro_batch_size' must be"),
            std::string::npos);
  EXPECT_EQ(usage_message(kMinimal, {"train.micro_batch_size=-1"}), "");
}

TEST(JobConfig, SyntaxErrorNamesLine) {
  const std::string msg = usage_message("[model]\npath = \n");
  EXPECT_NE(msg.find("job.toml:2"), std::string::npos) << msg;
}

TEST(JobConfig, TomlRoundTripAndResumeConflicts) {
  auto c = JobConfig::from_toml(kMinimal, "job.toml", {"train.max_epochs=7"});
  auto back = JobConfig::from_toml(c.to_toml(), "resolved.toml");
  EXPECT_EQ(back.to_toml(), c.to_toml());
  EXPECT_EQ(back.resume_hash(), c.resume_hash());
  // max_epochs and log level may change on resume; the learning rate and the data may not.
  auto relaxed = JobConfig::from_toml(kMinimal, "job.toml", {"train.max_epochs=99", "output.log_level=debug"});
  EXPECT_TRUE(relaxed.resume_conflicts(c).empty());
  EXPECT_EQ(relaxed.resume_hash(), c.resume_hash());
  auto changed = JobConfig::from_toml(kMinimal, "job.toml", {"optim.lr=1e-5", "data.forget=other.jsonl"});
  auto conflicts = changed.resume_conflicts(c);
  ASSERT_EQ(conflicts.size(), 2u);
  EXPECT_EQ(conflicts[0].rfind("data.forget", 0), 0u);
  EXPECT_EQ(conflicts[1].rfind("optim.lr", 0), 0u);
}

TEST(JobConfig, RelativePathsResolveAgainstTheConfigFile) {
  const std::string dir =
      (std::filesystem::path(testing::TempDir()) / "unl_cfg_paths").lexically_normal().string();
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/job.toml") << kMinimal;
  auto c = JobConfig::from_file(dir + "/job.toml");
  EXPECT_EQ(c.data.forget, "forget.jsonl");  // as written until resolved
  c.resolve_paths();
  EXPECT_EQ(c.data.forget, dir + "/forget.jsonl");
  EXPECT_EQ(c.model.path, "/models/neo");
  EXPECT_THROW(JobConfig::from_file(dir + "/missing.toml"), unl::UsageError);
}

TEST(JobConfig, ReferenceDocMatchesTheCode) {
  std::ifstream in(std::string(UNL_SOURCE_DIR) + "/docs/config-reference.md");
  ASSERT_TRUE(in) << "docs/config-reference.md is missing: run `unlearn config --reference > docs/config-reference.md`";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), unl::driver::config_reference_markdown())
      << "docs/config-reference.md is stale: regenerate it with `unlearn config --reference`";
}

}  // namespace
