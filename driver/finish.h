// Report phase: example continuations before/after, the final model, report.json/html, and the
// status file launch scripts read.
#pragma once

#include <string>

#include "driver/job.h"

namespace unl::driver {

/// Rank 0: greedy continuations of the first few forget samples before unlearning (the report
/// shows them beside the same continuations after).
void record_examples_before(Job& job);

/// Collective. Records why the job ended, writes the final model and the reports, then "done".
void finish(Job& job, const std::string& reason);

/// For launch scripts (UNLEARN_STATUS_FILE): "done" when the job finished, "interrupted" when it
/// checkpointed on a signal or the wall clock and should be requeued. Rank 0 writes.
void write_status(const Job& job, const char* status);

}  // namespace unl::driver
