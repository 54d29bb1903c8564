// Mapping between the live job (weights, Adam, JobState, config) and a checkpoint::State, with
// the resume checks: same model architecture, compatible config, same forget set.
#pragma once

#include <string>

#include "checkpoint/checkpoint.h"
#include "driver/job_config.h"
#include "driver/job_state.h"
#include "model/causal_lm.h"
#include "unlearn/adam.h"

namespace unl::driver {

checkpoint::State to_checkpoint(const JobState& s, model::CausalLMImpl& model, const unlearn::Adam& adam,
                                const JobConfig& cfg, int world_size);
/// Restores weights, optimiser and job state in place. Throws unl::UsageError naming the config
/// keys that changed in ways resumption cannot tolerate, or the tensors that do not fit the model.
void from_checkpoint(const checkpoint::State& st, const JobConfig& cfg, model::CausalLMImpl& model,
                     unlearn::Adam& adam, JobState& s, const std::string& path);

/// Write a small text file atomically (temp + rename).
void write_text_file(const std::string& path, const std::string& text);

}  // namespace unl::driver
