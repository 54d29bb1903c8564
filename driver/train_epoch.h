// Plan and train-epoch phases: the epoch's shard plan over the active forget samples, and its
// steps (with NaN policy, weight agreement checks, signals, step caps and step checkpoints).
#pragma once

#include <unordered_map>
#include <vector>

#include "driver/epoch_check.h"
#include "driver/job.h"
#include "driver/progress.h"
#include "shard/shard.h"

namespace unl::driver {

/// The active forget samples of an epoch and their global batches split over ranks. With
/// train.batching = official the batches cover every sample (inactive ones keep their slots and
/// are masked when the step is formed); otherwise only the active ones.
struct EpochPlan {
  std::vector<shard::SampleRef> active;
  shard::ShardPlan plan;
  bool masked = false;  // official batching: batches hold inactive samples too
};

/// The plan of the epoch after job.state.epoch, from the current flags (empty `active` when
/// nothing is left). Identical on every rank: a pure function of state, seed and world size.
EpochPlan plan_epoch(const Job& job);

/// How an epoch's steps ended.
enum class EpochEnd {
  kCompleted,    // every batch done: the epoch check follows
  kInterrupted,  // a stop signal: checkpointed, the job exits 0 to be resumed
  kMaxSteps,     // train.max_steps reached: checkpointed, the job finishes
};

/// Collective. Runs the plan's batches from job.state.batch_in_epoch on. `run` counts the steps.
EpochEnd train_epoch(Job& job, const EpochPlan& plan, Progress& progress, EpochRun& run);

}  // namespace unl::driver
