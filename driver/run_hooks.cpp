// The no-op hooks and the environment-driven fault injections of the end-to-end tests.
#include "driver/run_hooks.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "driver/state_io.h"

namespace unl::driver {
namespace {

class EnvironmentFaults final : public RunHooks {
 public:
  EnvironmentFaults(int64_t crash_at, int64_t nan_at) : crash_at_(crash_at), nan_at_(nan_at) {}

  void before_checkpoint_write(const std::string& checkpoint_dir, int64_t step) override {
    if (step != crash_at_) return;
    // Die like a writer killed mid-file: a truncated temporary checkpoint stays behind.
    const auto tmp = std::filesystem::path(checkpoint_dir) / fmt::format("ckpt-{:010d}.h5.tmp-{}", step, ::getpid());
    write_text_file(tmp.string(), std::string("\x89HDF\r\n\x1a\n truncated by UNL_TEST_CRASH_IN_CHECKPOINT"));
    std::_Exit(137);
  }

  void after_local_loss(int64_t step, int rank, int world_size, unlearn::StepLoss& loss) override {
    // On one rank only (the last), once per process, so the real cross-rank verdict runs.
    if (injected_ || rank != world_size - 1 || step != nan_at_) return;
    injected_ = true;
    const double nan = std::nan("");
    if (loss.loss.defined()) loss.loss = loss.loss * nan;
    if (loss.terms.empty()) loss.terms["loss"] = 0;
    for (auto& [name, v] : loss.terms) v = nan;
  }

 private:
  int64_t crash_at_, nan_at_;
  bool injected_ = false;
};

int64_t env_step(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : -1;
}

}  // namespace

RunHooks& no_hooks() {
  static RunHooks none;
  return none;
}

std::unique_ptr<RunHooks> hooks_from_environment() {
  const int64_t crash = env_step("UNL_TEST_CRASH_IN_CHECKPOINT"), nan = env_step("UNL_TEST_NAN_AT_STEP");
  if (crash < 0 && nan < 0) return std::make_unique<RunHooks>();
  return std::make_unique<EnvironmentFaults>(crash, nan);
}

}  // namespace unl::driver
