// eval.tasks during `unlearn run`: the tasks are built once at set-up and run before unlearning,
// after every eval.every_epochs-th epoch and when the run stops; each run is one "eval_tasks"
// record in metrics.jsonl (the report's task table reads them) and output.dir/eval.json.
#pragma once

#include "driver/job.h"

namespace unl::driver {

/// Builds job.policy.tasks from eval.tasks (files relative to the config file). Collective-free.
void set_up_eval_tasks(Job& job);

/// Whether the tasks run after `epoch` (1-based count of finished epochs) given the stop decision.
bool eval_tasks_due(const JobConfig& cfg, int64_t epoch, bool stopping);

/// Runs every task sharded (collective: all ranks call it); rank 0 logs and writes eval.json.
void run_eval_tasks(Job& job);

}  // namespace unl::driver
