// Evaluate and decide phases: after every epoch each forget sample is re-checked (sharded), rank 0
// updates the active flags and applies the stop rule, and every rank learns the verdict. Also the
// baseline check before the first update.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/job.h"
#include "unlearn/refinement.h"

namespace unl::driver {

/// What an epoch's training did, for its record.
struct EpochRun {
  int64_t steps = 0;
  int64_t active_before = 0;
  double start_s = 0;
};

/// What the per-sample check measured (complete on every rank).
struct EpochMeasurement {
  std::vector<unlearn::SampleMetrics> metrics;
  double heldout_ppl = -1;  // -1: no held-out set
};

/// Collective. Metrics of every forget sample and the held-out perplexity.
EpochMeasurement evaluate_epoch(Job& job);

/// Rank 0: new flags, forgotten epochs, the epoch record and the log lines; returns the stop
/// reason. Pure bookkeeping, no collectives (`job.state.epoch` is the epoch just completed).
unlearn::StopReason decide_epoch(Job& job, const EpochMeasurement& m, const EpochRun& run);

/// Collective. Closes the epoch: evaluate, decide, and agree on the verdict and flags.
unlearn::StopReason end_epoch(Job& job, const EpochRun& run);

/// Collective. Fresh start: state sized to the forget set, neighbours mined, the before-unlearning
/// check (and threshold calibration on the held-out set when configured).
void start_fresh(Job& job);

}  // namespace unl::driver
