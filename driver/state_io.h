// Mapping between the live job (weights, Adam, JobState, config) and a checkpoint::State, and the
// resume checks: a checkpoint is validated field by field against the job before anything of it
// is applied, so a damaged file gives one clear error naming the field, never an out-of-range read.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "common/error.h"
#include "driver/job_config.h"
#include "driver/job_state.h"
#include "driver/trainer.h"
#include "model/causal_lm.h"
#include "unlearn/adam.h"

namespace unl::driver {

/// The checkpoint is internally inconsistent (a field missing, of the wrong length or out of
/// range): an older checkpoint may still be good.
class CheckpointDamaged : public Error {
 public:
  using Error::Error;
};
/// The checkpoint is sound but belongs to another job (configuration, inputs or model changed):
/// no checkpoint of this output directory will do.
class CheckpointMismatch : public UsageError {
 public:
  using UsageError::UsageError;
};

/// What a checkpoint must agree with to be resumed by this job.
struct ResumeContext {
  const JobConfig* cfg = nullptr;
  std::vector<int64_t> forget_ids;
  int64_t pool_size = 0;
  bool needs_neighbours = false;
  /// Every model tensor (hf_state_dict order) and the trainable ones, by name with their shapes.
  std::vector<std::pair<std::string, std::vector<int64_t>>> model_tensors, params;
  /// Content hashes of the input files by config key ("data.forget" -> 16 hex digits).
  std::map<std::string, std::string> input_hashes;
};

/// The job's inputs as the checkpoint records them (see ResumeContext::input_hashes).
ResumeContext make_resume_context(const JobConfig& cfg, const std::vector<int64_t>& forget_ids, int64_t pool_size,
                                  bool needs_neighbours, model::CausalLMImpl& model);

/// The optimiser as a checkpoint stores it: full (replicated-format) tensors at every ZeRO stage.
struct OptimizerSnapshot {
  unlearn::NamedTensors state;    // "exp_avg.<name>", "exp_avg_sq.<name>"
  int64_t steps = 0;
  unlearn::NamedTensors masters;  // bf16-mixed's fp32 master weights (master/<name>); fp32: empty
};

checkpoint::State to_checkpoint(const JobState& s, model::CausalLMImpl& model, const OptimizerSnapshot& optim,
                                const JobConfig& cfg, int world_size, const ResumeContext& ctx);

/// Checks every field, length, id and range of `st` against `ctx`. Throws CheckpointMismatch
/// (configuration keys, input files, forget set or model differ) or CheckpointDamaged (the field
/// that is missing or inconsistent), both naming `path` and the field.
void validate_checkpoint(const checkpoint::State& st, const ResumeContext& ctx, const std::string& path);

/// Validates, then restores weights, optimiser and job state in place (nothing is touched when
/// validation fails). Precision may change between sessions: a checkpoint with master/ tensors
/// (bf16-mixed) restores every trainable weight from its fp32 master, into the trainer's masters
/// (bf16-mixed now) and into the model (rounded when it is bf16); one without (fp32) fills the
/// masters from its fp32 model/ tensors. Adam's moments are fp32 in both. The ZeRO stage and
/// world size may change too: each rank takes its slice of the full tensors.
void from_checkpoint(const checkpoint::State& st, const ResumeContext& ctx, model::CausalLMImpl& model,
                     Trainer& trainer, JobState& s, const std::string& path);

/// Write a small text file atomically (temp + rename).
void write_text_file(const std::string& path, const std::string& text);

}  // namespace unl::driver
