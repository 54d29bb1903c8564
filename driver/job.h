// The running job as a few small parts, each built once by set-up (setup.cpp) and handed to the
// phases of the run loop: what was read, the models, how a step trains, how an epoch is judged,
// where outputs go, and the resumable state.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>

#include "checkpoint/checkpoint.h"
#include "comm/communicator.h"
#include "driver/evaluation.h"
#include "driver/inputs.h"
#include "driver/job_config.h"
#include "driver/job_state.h"
#include "driver/metrics_log.h"
#include "driver/run_hooks.h"
#include "driver/state_io.h"
#include "driver/trainer.h"
#include "eval/tasks.h"
#include "model/model.h"
#include "unlearn/refinement.h"

namespace unl::driver {

/// Seconds on a monotonic clock.
inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// What every rank read, identical on all ranks (checked by check_inputs_agree).
struct Inputs {
  std::unique_ptr<model::Tokenizer> tokenizer;
  TokenSet forget, pool, heldout;
};

/// The model being unlearned and the frozen original (KL / NPO reference, neighbour embedder).
struct Models {
  model::CausalLM model;
  model::CausalLM reference;  // null when the method needs neither
  torch::Device device = torch::kCPU;
  int64_t pad_id = 0;
  int64_t vocab_size = 0;
  bool bf16_mixed = false;  // train.precision resolved: the Trainer casts the model after taking masters
};

/// How an epoch's check is made and judged.
struct Policy {
  EvalSettings eval;
  unlearn::Thresholds thresholds;
  unlearn::RefinementMode refinement = unlearn::RefinementMode::kRecompute;
  bool is_finetune = false;  // `unlearn train`: no per-sample check, epochs only
  std::vector<std::unique_ptr<eval::Task>> tasks;  // eval.tasks (driver/eval_epoch.h)
  eval::RunnerOptions task_runner;
};

/// Where the job writes (rank 0 writes; the log is a no-op elsewhere).
struct Outputs {
  std::string dir;
  MetricsLog log;
  std::unique_ptr<checkpoint::Directory> checkpoints;
  double session_start = now_s();
  double wall_at_start = 0;  // training wall time of earlier sessions
  double wall_s() const { return wall_at_start + (now_s() - session_start); }
};

struct Job {
  const JobConfig& cfg;
  comm::Communicator& comm;
  RunHooks& hooks;
  Inputs in;
  Models models;
  std::unique_ptr<Trainer> trainer;
  Policy policy;
  Outputs out;
  ResumeContext resume;  // what a checkpoint must agree with (and the input fingerprints it records)
  JobState state;

  Job(const JobConfig& c, comm::Communicator& cm, RunHooks& h) : cfg(c), comm(cm), hooks(h) {}
  bool root() const { return comm.rank() == 0; }
};

}  // namespace unl::driver
