// run_job: the phases in order. Each phase lives in its own file (setup, checkpointing,
// epoch_check, train_epoch, finish); this file only sequences them.
#include "driver/run_loop.h"

#include "comm/messages.h"
#include "common/common.h"
#include "driver/checkpointing.h"
#include "driver/epoch_check.h"
#include "driver/finish.h"
#include "driver/progress.h"
#include "driver/setup.h"
#include "driver/signals.h"
#include "driver/train_epoch.h"

namespace unl::driver {
namespace {

// After a resume: the checkpoint must belong to this forget set; thresholds come from it.
void continue_resumed(Job& job) {
  job.policy.thresholds.ma = job.state.threshold_ma;
  job.policy.thresholds.el = job.state.threshold_el;
  job.policy.thresholds.bleu = job.state.threshold_bleu;
}

// True when there is nothing to train: the job already ended, or the forget set is already
// below the thresholds before the first update.
bool already_done(Job& job) {
  if (!job.state.stop_reason.empty()) {
    log::info("this job already finished ({}); nothing to do. Use --fresh to start over.", job.state.stop_reason);
    finish(job, job.state.stop_reason);
    return true;
  }
  if (job.policy.is_finetune || job.state.epoch != 0 || job.state.batch_in_epoch != 0) return false;
  const auto reason = unlearn::stop_rule(job.state.before, job.state.flags, job.policy.thresholds, 0,
                                         job.cfg.train.max_epochs);
  if (reason != unlearn::StopReason::kThresholdsMet && reason != unlearn::StopReason::kNoActiveSamples) return false;
  log::info("the forget set already meets the stop rule before any update ({}); the model is left unchanged",
            unlearn::stop_reason_name(reason));
  finish(job, unlearn::stop_reason_name(reason));
  return true;
}

// Leave before the Slurm wall clock runs out: checkpoint when another epoch would not fit.
// Rank 0 decides (it alone keeps the epoch history) and every rank follows.
bool out_of_wall_clock(Job& job) {
  const double left = seconds_until_job_end();
  bool leave = false;
  double epoch_s = 0;
  if (job.root() && left >= 0 && !job.state.history.empty() && job.state.batch_in_epoch == 0) {
    epoch_s = job.state.history.back().wall_s;
    leave = left < 1.2 * epoch_s + 60;
  }
  comm::broadcast_object(job.comm, leave);
  if (!leave) return false;
  log::info("{:.0f} s left in the Slurm allocation, an epoch takes ~{:.0f} s: checkpointing now", left, epoch_s);
  write_checkpoint(job, "wall clock");
  log::info("resume with the same command in a new allocation");
  write_status(job, "interrupted");
  return true;
}

int run_epochs(Job& job) {
  Progress progress(job.root());
  while (true) {
    const EpochPlan ep = plan_epoch(job);
    if (ep.active.empty()) {
      finish(job, unlearn::stop_reason_name(unlearn::StopReason::kNoActiveSamples));
      return 0;
    }
    if (out_of_wall_clock(job)) return 0;
    EpochRun run;
    run.start_s = now_s();
    run.active_before = static_cast<int64_t>(ep.active.size());
    progress.start_epoch(job.state.epoch + 1, ep.plan.num_batches(), job.state.batch_in_epoch);
    const EpochEnd end = train_epoch(job, ep, progress, run);
    if (end == EpochEnd::kInterrupted) {
      write_status(job, "interrupted");
      return 0;
    }
    if (end == EpochEnd::kMaxSteps) {
      finish(job, "max_steps");
      return 0;
    }
    progress.end_epoch();
    const auto reason = end_epoch(job, run);
    if (reason != unlearn::StopReason::kContinue) job.state.stop_reason = unlearn::stop_reason_name(reason);
    write_checkpoint(job, "end of epoch " + std::to_string(job.state.epoch));
    if (reason != unlearn::StopReason::kContinue) {
      finish(job, job.state.stop_reason);
      return 0;
    }
    if (job.comm.any(stop_signal() != 0)) {
      log::info("stopped by a signal at the end of epoch {}; resume with the same command", job.state.epoch);
      write_status(job, "interrupted");
      return 0;
    }
  }
}

}  // namespace

int run_job(JobConfig cfg, comm::Communicator& comm, const RunOptions& options) {
  cfg.resolve_paths();
  auto job = set_up_job(cfg, comm, options.hooks ? *options.hooks : no_hooks());
  const bool resumed = try_resume(*job, options);
  if (job->root()) job->out.log = MetricsLog((std::filesystem::path(job->out.dir) / "metrics.jsonl").string());
  if (resumed) {
    continue_resumed(*job);
  } else {
    start_fresh(*job);
  }
  if (already_done(*job)) return 0;
  return run_epochs(*job);
}

}  // namespace unl::driver
