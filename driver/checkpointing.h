// Checkpoint phase: write the whole job state (rank 0 writes, everyone waits for the commit) and
// find and restore the newest good checkpoint on start.
#pragma once

#include <string>

#include "driver/job.h"
#include "driver/run_loop.h"

namespace unl::driver {

/// Collective. Commits a checkpoint of the current state; `why` is logged.
void write_checkpoint(Job& job, const std::string& why);

/// Collective. Restores weights, optimiser and job state from options.resume_path, else from the
/// newest valid checkpoint in output.dir (unless options.fresh). False when starting fresh.
bool try_resume(Job& job, const RunOptions& options);

}  // namespace unl::driver
