// Writing and restoring checkpoints of a running job.
#include "driver/checkpointing.h"

#include <optional>

#include "comm/messages.h"
#include "common/common.h"
#include "driver/state_io.h"

namespace unl::driver {

void write_checkpoint(Job& job, const std::string& why) {
  const double t0 = now_s();
  job.state.wall_s = job.out.wall_s();
  std::string path;
  // Collective: at ZeRO stage >= 1 every rank sends its slice of the optimiser to rank 0.
  OptimizerSnapshot optim;
  optim.state = job.trainer->optimizer_state(job.comm, 0);
  optim.masters = job.trainer->master_weights(job.comm, 0);
  optim.steps = job.trainer->optimizer_steps();
  if (job.root()) {
    job.hooks.before_checkpoint_write(job.out.checkpoints->dir(), job.state.step);
    auto st = to_checkpoint(job.state, *job.models.model, optim, job.cfg, job.comm.size(), job.resume);
    path = job.out.checkpoints->commit(st, job.state.step);
  }
  // Everyone waits, so no rank exits before the file is safely renamed into place.
  job.comm.barrier();
  if (job.root()) log::info("checkpoint ({}): {} in {:.1f} s", why, path, now_s() - t0);
}

namespace {

// Rank 0: the checkpoint to resume and its contents. An explicit --resume must be good itself;
// otherwise the newest checkpoint that reads, verifies and validates against the job is taken,
// damaged ones skipped with a warning. A checkpoint of another job stops the search (all of this
// directory's checkpoints would be of it).
std::optional<std::pair<std::string, checkpoint::State>> find_resumable(Job& job, const RunOptions& options) {
  if (!options.resume_path.empty()) {
    auto st = checkpoint::read(options.resume_path);
    validate_checkpoint(st, job.resume, options.resume_path);
    return std::make_pair(options.resume_path, std::move(st));
  }
  if (options.fresh) return std::nullopt;
  auto all = job.out.checkpoints->list();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      auto st = checkpoint::read(it->second);
      validate_checkpoint(st, job.resume, it->second);
      return std::make_pair(it->second, std::move(st));
    } catch (const CheckpointMismatch&) {
      throw;
    } catch (const Error& e) {
      log::warn("skipping checkpoint {}: {}", it->second, e.description());
    }
  }
  return std::nullopt;
}

}  // namespace

bool try_resume(Job& job, const RunOptions& options) {
  // Rank 0 finds and validates the checkpoint; every rank learns the outcome (a path, or the one
  // error all ranks then report), and the others read the file it names.
  std::string path, error;
  bool usage = false;
  std::optional<checkpoint::State> loaded;
  if (job.root()) {
    try {
      if (auto found = find_resumable(job, options)) {
        path = found->first;
        loaded = std::move(found->second);
      }
    } catch (const Error& e) {
      error = e.description() + ". HINT: " + e.hint();
      usage = dynamic_cast<const UsageError*>(&e) != nullptr;
    }
  }
  comm::broadcast_object(job.comm, error);
  comm::broadcast_object(job.comm, usage);
  if (!error.empty()) {
    if (usage) throw CheckpointMismatch(error, "", __FILE__, __LINE__);
    throw CheckpointDamaged(error, "", __FILE__, __LINE__);
  }
  comm::broadcast_object(job.comm, path);
  if (path.empty()) return false;
  const checkpoint::State st = loaded ? std::move(*loaded) : checkpoint::read(path);
  from_checkpoint(st, job.resume, *job.models.model, *job.trainer, job.state, path);
  bool had_masters = false;
  for (const auto& [name, t] : st.tensors) had_masters = had_masters || name.rfind("master/", 0) == 0;
  const bool mixed_now = job.trainer->bf16_mixed();
  if (mixed_now && !had_masters)
    log::info("resuming a float32 checkpoint as bf16-mixed: its fp32 weights become the master weights, the model "
              "their bfloat16 rounding; Adam's moments carry over");
  if (!mixed_now && had_masters)
    log::info("resuming a bf16-mixed checkpoint as fp32: the weights continue from its fp32 master weights");
  job.state.sessions += 1;
  job.out.wall_at_start = job.state.wall_s;
  log::info("resumed from {}: epoch {}, step {}, batch {} of the epoch (written with {} ranks, now {})", path,
            job.state.epoch, job.state.step, job.state.batch_in_epoch,
            st.ints.count("world_size") ? st.ints.at("world_size") : -1, job.comm.size());
  return true;
}

}  // namespace unl::driver
