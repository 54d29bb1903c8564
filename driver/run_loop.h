// The coordinator run loop behind `unlearn run` and `unlearn train`: mining, sharded epochs,
// bucketed all-reduce, per-epoch sharded evaluation, refinement, checkpoints, signals, outputs.
#pragma once

#include <string>

#include "comm/communicator.h"
#include "driver/job_config.h"

namespace unl::driver {

struct RunOptions {
  std::string resume_path;  // explicit checkpoint; empty: newest valid in output.dir/checkpoints
  bool fresh = false;       // ignore existing checkpoints (start over)
};

/// Runs the job to its stop rule (or a signal). Returns the process exit code: 0 done or
/// checkpointed on a signal, 1 stopped on a NaN loss. Throws unl::Error / UsageError on failure.
int run_job(JobConfig cfg, comm::Communicator& comm, const RunOptions& options);

}  // namespace unl::driver
