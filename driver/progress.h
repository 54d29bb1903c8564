// Progress the user can follow: a live bar when stdout is a terminal, plain periodic lines when it
// is a log file, and epoch summaries in the user's terms (forgotten / active / thresholds / ETA).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "driver/job_state.h"
#include "unlearn/refinement.h"

namespace unl::driver {

class Progress {
 public:
  explicit Progress(bool enabled);
  void start_epoch(int64_t epoch, int64_t batches, int64_t first_batch);
  void step(int64_t done, const std::map<std::string, double>& terms, double tokens_per_s);
  void end_epoch();

 private:
  bool enabled_, tty_;
  int64_t epoch_ = 0, batches_ = 0, first_ = 0;
  double start_ = 0, last_print_ = 0;
};

void print_before_summary(const JobState& s, const unlearn::Thresholds& t, int n);
void print_epoch_summary(const JobState& s, const unlearn::Thresholds& t, int n);
/// "1h 02m", "3m 05s", "12s".
std::string format_duration(double seconds);

}  // namespace unl::driver
