// The steps of one epoch.
#include "driver/train_epoch.h"


#include "comm/messages.h"
#include "common/common.h"
#include "common/hash.h"
#include "common/memory.h"
#include "driver/checkpointing.h"
#include "driver/finish.h"
#include "driver/signals.h"

namespace unl::driver {
namespace {

// This rank's rows of batch b: its forget samples and their neighbours.
LocalRows local_rows(const Job& job, const EpochPlan& ep, int64_t b,
                     const std::unordered_map<int64_t, int64_t>& index_of) {
  LocalRows rows;
  const bool neighbours = job.trainer->method().needs_neighbours();
  for (int64_t id : ep.plan.local(b, job.comm.rank())) {
    const int64_t i = index_of.at(id);
    if (!job.state.flags[i]) continue;  // official batching: an inactive pair's slot is masked
    rows.ids.push_back(id);
    rows.forget.push_back(&job.in.forget.tokens[i]);
    rows.forget_prompt.push_back(job.in.forget.prompt_lens[i]);
    if (neighbours) {
      const int64_t r = job.state.neighbour[i];
      rows.neighbours.push_back(&job.in.pool.tokens[r]);
      rows.neighbour_prompt.push_back(job.in.pool.prompt_lens[r]);
    }
  }
  return rows;
}

// Whether a global batch holds an active sample (every rank sees the same flags).
bool has_active(const Job& job, const std::vector<int64_t>& batch, const std::unordered_map<int64_t, int64_t>& index_of) {
  for (int64_t id : batch)
    if (job.state.flags[index_of.at(id)]) return true;
  return false;
}

// Debug check (train.check_weights_every): every rank holds the same weights.
void check_weights_agree(Job& job) {
  torch::NoGradGuard ng;
  Hasher h;
  for (const auto& p : job.trainer->params()) {
    auto c = p.detach().to(torch::kCPU).contiguous();
    h.update(c.data_ptr(), static_cast<size_t>(c.numel() * c.element_size()));
  }
  const uint64_t mine = h.digest();
  auto all = comm::gather_objects(job.comm, mine);
  bool ok = true;
  std::string detail;
  if (job.root()) {
    for (size_t r = 0; r < all.size(); ++r) {
      if (all[r] != all[0]) ok = false;
      detail += " r" + std::to_string(r) + "=" + hex64(all[r]).substr(0, 8);
    }
  }
  comm::broadcast_object(job.comm, ok);
  UNL_CHECK(ok, "weights differ across ranks after step " + std::to_string(job.state.step) + ":" + detail,
            "ranks must apply identical updates; this is a bug in the all-reduce or optimiser path");
  log::debug("step {}: weights identical on all {} ranks", job.state.step, job.comm.size());
}

// A step whose loss was not finite on some rank: skip it, or checkpoint the last good state and
// stop (train.nan_policy).
void handle_nonfinite(Job& job, int64_t b) {
  if (job.cfg.train.nan_policy == "skip") {
    log::warn("step {}: non-finite loss; step skipped (train.nan_policy = skip)", job.state.step + 1);
    if (job.root())
      job.out.log.write({{"type", "skipped"}, {"epoch", job.state.epoch + 1}, {"step", job.state.step + 1},
                         {"batch", b}, {"reason", "non-finite loss"}});
    job.state.batch_in_epoch = b + 1;
    return;
  }
  write_checkpoint(job, "last good state before a non-finite loss");
  UNL_THROW("the loss became NaN/Inf at step " + std::to_string(job.state.step + 1) + " (epoch " +
                std::to_string(job.state.epoch + 1) + ", batch " + std::to_string(b) + ")",
            "the last good state is checkpointed; lower optim.lr or method.w_forget, or set "
            "train.nan_policy = \"skip\", then resume with the same command");
}

void record_step(Job& job, const EpochPlan& ep, int64_t b, const StepStats& stats, double dt, Progress& progress) {
  if (!job.root()) return;
  const double rate = dt > 0 ? stats.tokens / dt : 0.0;
  nlohmann::json rec = {{"type", "step"}, {"epoch", job.state.epoch + 1}, {"step", job.state.step},
                        {"batch", b}, {"active", static_cast<int64_t>(ep.active.size())},
                        {"tokens", stats.tokens}, {"tokens_per_s", rate}, {"step_s", dt},
                        // Rank 0's peak resident memory since this epoch's training began (host
                        // memory: on CPU ranks, the whole training state).
                        {"peak_rss_gib", static_cast<double>(peak_rss_bytes()) / double(int64_t{1} << 30)}};
  for (const auto& [name, v] : stats.terms) rec[name] = v;
  job.out.log.write(rec);
  progress.step(b + 1, stats.terms, rate);
}

}  // namespace

EpochPlan plan_epoch(const Job& job) {
  EpochPlan ep;
  ep.masked = job.cfg.train.batching == "official";
  std::vector<shard::SampleRef> all;
  for (size_t i = 0; i < job.in.forget.size(); ++i) {
    const shard::SampleRef ref{job.in.forget.ids[i], static_cast<int64_t>(job.in.forget.tokens[i].size())};
    all.push_back(ref);
    if (job.state.flags[i]) ep.active.push_back(ref);
  }
  if (!ep.active.empty())
    ep.plan = shard::make_plan(ep.masked ? all : ep.active, job.comm.size(), job.cfg.train.batch_size,
                               static_cast<uint64_t>(job.cfg.train.seed), job.state.epoch);
  return ep;
}

EpochEnd train_epoch(Job& job, const EpochPlan& ep, Progress& progress, EpochRun& run) {
  std::unordered_map<int64_t, int64_t> index_of;
  for (size_t i = 0; i < job.in.forget.ids.size(); ++i) index_of[job.in.forget.ids[i]] = static_cast<int64_t>(i);
  const TrainConfig& tc = job.cfg.train;
  const int64_t every = job.cfg.checkpoint.every_steps;
  reset_peak_rss();  // the steps' peak, not set-up's or the last evaluation's
  for (int64_t b = job.state.batch_in_epoch; b < ep.plan.num_batches(); ++b) {
    if (ep.masked && !has_active(job, ep.plan.batches[b], index_of)) {
      job.state.batch_in_epoch = b + 1;  // every pair of this batch is already forgotten: no step
      continue;
    }
    const double t0 = now_s();
    auto stats = job.trainer->compute_gradients(job.comm, local_rows(job, ep, b, index_of), job.state.step + 1, job.hooks);
    if (!stats.finite) {
      handle_nonfinite(job, b);
      continue;
    }
    job.trainer->apply(job.comm);
    job.state.step += 1;
    job.state.batch_in_epoch = b + 1;
    run.steps += 1;
    record_step(job, ep, b, stats, now_s() - t0, progress);
    if (tc.check_weights_every > 0 && job.state.step % tc.check_weights_every == 0) check_weights_agree(job);
    if (job.comm.any(stop_signal() != 0)) {
      write_checkpoint(job, "stop signal");
      log::info("stopped by a signal after step {}; resume with the same command (it continues from {})",
                job.state.step, job.out.dir + "/checkpoints");
      return EpochEnd::kInterrupted;
    }
    if (tc.max_steps > 0 && job.state.step >= tc.max_steps) {
      write_checkpoint(job, "train.max_steps reached");
      return EpochEnd::kMaxSteps;
    }
    if (every > 0 && job.state.step % every == 0 && b + 1 < ep.plan.num_batches())
      write_checkpoint(job, "every " + std::to_string(every) + " steps");
  }
  return EpochEnd::kCompleted;
}

}  // namespace unl::driver
