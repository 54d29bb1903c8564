// The per-epoch check, the refinement decision and the before-unlearning baseline.
#include "driver/epoch_check.h"

#include <algorithm>

#include "comm/messages.h"
#include "common/common.h"
#include "driver/eval_epoch.h"
#include "driver/finish.h"
#include "driver/neighbours.h"
#include "driver/progress.h"

namespace unl::driver {
namespace {

unlearn::StopReason end_finetune_epoch(Job& job, const EpochRun& run) {
  EpochRecord rec;
  rec.epoch = job.state.epoch;
  rec.active_before = run.active_before;
  rec.steps = run.steps;
  job.state.epoch += 1;
  job.state.batch_in_epoch = 0;
  rec.wall_s = now_s() - run.start_s;
  rec.active_after = run.active_before;
  job.state.history.push_back(rec);
  log::info("epoch {} done: {} steps in {:.1f} s", job.state.epoch, run.steps, rec.wall_s);
  const int64_t max_epochs = job.cfg.train.max_epochs;
  return max_epochs > 0 && job.state.epoch >= max_epochs ? unlearn::StopReason::kMaxEpochs
                                                         : unlearn::StopReason::kContinue;
}

// The data.retain row paired with sample i (-1: none).
int64_t neighbour_row(const Job& job, size_t i) {
  return i < job.state.neighbour.size() ? job.state.neighbour[i] : -1;
}

void log_epoch(Job& job, const EpochMeasurement& m, const EpochRecord& rec) {
  const auto& metrics = m.metrics;
  for (size_t i = 0; i < metrics.size(); ++i) {
    job.out.log.write({{"type", "sample"}, {"epoch", job.state.epoch}, {"id", job.state.ids[i]},
                       {"ma", metrics[i].ma}, {"el", metrics[i].el}, {"bleu", metrics[i].bleu},
                       {"bertscore", metrics[i].bertscore}, {"loss", metrics[i].loss},
                       {"neighbour", neighbour_row(job, i)}, {"active", static_cast<int>(job.state.flags[i])}});
  }
  job.out.log.write({{"type", "epoch"}, {"epoch", job.state.epoch}, {"active_before", rec.active_before},
                     {"active_after", rec.active_after}, {"mean_ma", rec.mean_ma}, {"mean_el", rec.mean_el},
                     {"mean_bleu", rec.mean_bleu}, {"heldout_ppl", m.heldout_ppl}, {"wall_s", rec.wall_s},
                     {"steps", rec.steps}});
}

}  // namespace

EpochMeasurement evaluate_epoch(Job& job) {
  EpochMeasurement m;
  m.metrics = evaluate_forget_set(job.comm, *job.models.model, job.in.forget, job.policy.eval, job.in.tokenizer.get());
  if (job.in.heldout.size())
    m.heldout_ppl = heldout_perplexity(job.comm, *job.models.model, job.in.heldout, job.policy.eval);
  return m;
}

unlearn::StopReason decide_epoch(Job& job, const EpochMeasurement& m, const EpochRun& run) {
  JobState& s = job.state;
  auto flags = unlearn::update_flags(s.flags, m.metrics, job.policy.thresholds, job.policy.refinement);
  for (size_t i = 0; i < flags.size(); ++i) {
    if (s.flags[i] && !flags[i]) s.forgotten_epoch[i] = s.epoch;
    if (flags[i]) s.forgotten_epoch[i] = -1;
  }
  s.flags = flags;
  s.latest = m.metrics;
  const auto reason = unlearn::stop_rule(m.metrics, flags, job.policy.thresholds, s.epoch, job.cfg.train.max_epochs);
  EpochRecord rec;
  rec.epoch = s.epoch - 1;
  rec.active_before = run.active_before;
  rec.steps = run.steps;
  rec.active_after = std::count(flags.begin(), flags.end(), 1);
  for (const auto& x : m.metrics) {
    rec.mean_ma += x.ma / m.metrics.size();
    rec.mean_el += x.el / m.metrics.size();
    rec.mean_bleu += x.bleu / m.metrics.size();
  }
  rec.heldout_ppl = m.heldout_ppl;
  rec.wall_s = now_s() - run.start_s;
  s.history.push_back(rec);
  log_epoch(job, m, rec);
  print_epoch_summary(s, job.policy.thresholds, static_cast<int>(job.policy.eval.options.n));
  return reason;
}

unlearn::StopReason end_epoch(Job& job, const EpochRun& run) {
  if (job.policy.is_finetune) return end_finetune_epoch(job, run);
  const EpochMeasurement m = evaluate_epoch(job);
  job.state.epoch += 1;
  job.state.batch_in_epoch = 0;
  unlearn::StopReason reason = unlearn::StopReason::kContinue;
  if (job.root()) reason = decide_epoch(job, m, run);
  int code = static_cast<int>(reason);
  comm::broadcast_object(job.comm, code);
  comm::broadcast_object(job.comm, job.state.flags);
  comm::broadcast_object(job.comm, job.state.forgotten_epoch);
  const auto reason_all = static_cast<unlearn::StopReason>(code);
  if (eval_tasks_due(job.cfg, job.state.epoch, reason_all != unlearn::StopReason::kContinue)) run_eval_tasks(job);
  return reason_all;
}

void start_fresh(Job& job) {
  JobState& s = job.state;
  s.sessions = 1;
  s.ids = job.in.forget.ids;
  s.flags.assign(job.in.forget.size(), 1);
  s.forgotten_epoch.assign(job.in.forget.size(), -1);
  s.neighbour = mine_neighbours(job);
  if (!job.policy.is_finetune) {
    log::info("evaluating {} forget samples before unlearning ...", job.in.forget.size());
    auto before = evaluate_forget_set(job.comm, *job.models.model, job.in.forget, job.policy.eval, job.in.tokenizer.get());
    if (job.in.heldout.size()) {
      s.heldout_ppl_before = heldout_perplexity(job.comm, *job.models.model, job.in.heldout, job.policy.eval);
      if (job.cfg.thresholds.mode == "calibrate") {
        auto held = evaluate_forget_set(job.comm, *job.models.model, job.in.heldout, job.policy.eval, nullptr);
        job.policy.thresholds = unlearn::calibrate_thresholds(held, job.policy.thresholds);
        log::info("thresholds calibrated on the held-out set: MA < {:.4f}, EL{} < {:.4f}", job.policy.thresholds.ma,
                  job.policy.eval.options.n, job.policy.thresholds.el);
      }
    }
    s.before = before;
    s.latest = before;
    // Epoch 0 (the official run's first check): samples already forgotten never train.
    s.flags = unlearn::update_flags(s.flags, before, job.policy.thresholds, job.policy.refinement);
    for (size_t i = 0; i < s.flags.size(); ++i)
      if (!s.flags[i]) s.forgotten_epoch[i] = 0;
    record_examples_before(job);
  }
  s.threshold_ma = job.policy.thresholds.ma;
  s.threshold_el = job.policy.thresholds.el;
  s.threshold_bleu = job.policy.thresholds.bleu;
  if (job.root() && !job.policy.is_finetune)
    print_before_summary(s, job.policy.thresholds, job.policy.eval.options.n);
  if (eval_tasks_due(job.cfg, 0, false)) run_eval_tasks(job);
}

}  // namespace unl::driver
