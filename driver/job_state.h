// The job's resumable state besides weights and optimiser: per-sample flags and metric history,
// the position in the epoch plan, and the before-unlearning baseline. Mapped onto a checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/metrics.h"

namespace unl::driver {

struct EpochRecord {
  int64_t epoch = 0;
  int64_t active_before = 0;   // samples trained on in this epoch
  int64_t active_after = 0;    // samples still active after its check
  double mean_ma = 0, mean_el = 0, mean_bleu = 0;
  double heldout_ppl = -1;     // -1: no held-out set
  double wall_s = 0;
  int64_t steps = 0;
};

/// A forget sample's continuation before and after unlearning, for the report.
struct Example {
  int64_t id = 0;
  std::string prompt, reference, before, after;
};

struct JobState {
  // Position.
  int64_t epoch = 0;           // epochs completed
  int64_t batch_in_epoch = 0;  // next global batch of the current epoch
  int64_t step = 0;            // optimiser steps taken
  double wall_s = 0;           // training wall time so far (all sessions)
  int64_t sessions = 0;        // how many times the job was started (1 + resumes)
  // Per forget sample (index = position in the forget set).
  std::vector<int64_t> ids;
  std::vector<int64_t> neighbour;        // pool row paired with each forget sample (-1: none)
  std::vector<uint8_t> flags;            // 1 = active (not yet forgotten)
  std::vector<int64_t> forgotten_epoch;  // epoch after which it was last dropped (-1: active)
  std::vector<unlearn::SampleMetrics> before;  // before unlearning
  std::vector<unlearn::SampleMetrics> latest;  // after the newest epoch
  double heldout_ppl_before = -1;
  double threshold_ma = 0, threshold_el = 0, threshold_bleu = 0;
  std::vector<EpochRecord> history;
  std::vector<Example> examples;         // a few forget samples, generated before and after
  std::string stop_reason;               // "" while running
};

}  // namespace unl::driver
