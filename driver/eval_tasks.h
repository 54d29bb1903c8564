// `unlearn eval --tasks`: the evaluation tasks of eval/ run sharded over ranks (ranks take whole
// batches of a rank-independent plan, so results are identical on any number of ranks), and the
// open-unlearning-shaped eval.json plus per-sample JSONL.
#pragma once

#include <vector>

#include "comm/communicator.h"
#include "driver/commands.h"
#include "eval/eval.h"
#include "model/causal_lm.h"

namespace unl::driver {

/// Every output of `task` on `model`: batches planned from the request lengths, rank r runs the
/// r-th block of batches. Complete (one per request, in request order) on rank 0, empty elsewhere.
std::vector<eval::Output> run_task_sharded(comm::Communicator& comm, model::CausalLMImpl& model,
                                           const eval::Task& task, const eval::RunnerOptions& options);

/// The metrics of every task, in task order, on rank 0 (empty elsewhere). `reference` (may be
/// null) runs the requests of tasks that use it.
std::vector<eval::MetricResult> evaluate_tasks(comm::Communicator& comm, model::CausalLMImpl& model,
                                               model::CausalLMImpl* reference,
                                               const std::vector<std::unique_ptr<eval::Task>>& tasks,
                                               const eval::RunnerOptions& options);

/// The whole `unlearn eval --tasks ... --out eval.json` command.
int cmd_eval_tasks(const EvalArgs& args, comm::Communicator& comm);

/// Path of the per-sample JSONL next to `out`: eval.json -> eval.samples.jsonl.
std::string samples_path_for(const std::string& out);

}  // namespace unl::driver
