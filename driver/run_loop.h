// The coordinator run loop behind `unlearn run` and `unlearn train`, as phases: set-up, start
// (fresh or resumed), then per epoch: plan, train, evaluate + decide, checkpoint; finally the
// report. Every rank runs the same code; rank 0 also decides, logs and writes.
#pragma once

#include <string>

#include "comm/communicator.h"
#include "driver/job_config.h"
#include "driver/run_hooks.h"

namespace unl::driver {

struct RunOptions {
  std::string resume_path;   // explicit checkpoint; empty: newest valid in output.dir/checkpoints
  bool fresh = false;        // ignore existing checkpoints (start over)
  RunHooks* hooks = nullptr; // test seam (fault injection, observation); null: none
};

/// Runs the job to its stop rule (or a signal). Returns the process exit code: 0 done or
/// checkpointed on a signal. Throws unl::Error / UsageError on failure (a NaN loss under
/// train.nan_policy = stop included, after checkpointing the last good state).
int run_job(JobConfig cfg, comm::Communicator& comm, const RunOptions& options);

}  // namespace unl::driver
