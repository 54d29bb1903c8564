// Set-up phase: the runtime (log level, threads, device), the output directory, the inputs (read
// and cross-checked on every rank), the models, the policy and the trainer of a job.
#pragma once

#include <memory>
#include <string>

#include "driver/job.h"

namespace unl::driver {

/// Collective. Everything a run needs before its first step; throws unl::Error/UsageError
/// naming the input that is missing, malformed or different on another rank.
std::unique_ptr<Job> set_up_job(const JobConfig& cfg, comm::Communicator& comm, RunHooks& hooks);

/// train.precision with "auto" resolved: bf16-mixed when model.dtype = bfloat16 or every
/// floating-point tensor of model.path is stored as bfloat16 (read from the safetensors headers),
/// else fp32.
std::string resolve_precision(const JobConfig& cfg);

}  // namespace unl::driver
