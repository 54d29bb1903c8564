// Progress output implementation.
#include "driver/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"

namespace unl::driver {
namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string format_duration(double s) {
  if (s < 0) return "?";
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h {:02d}m", t / 3600, static_cast<int>((t % 3600) / 60));
  if (t >= 60) return fmt::format("{}m {:02d}s", t / 60, static_cast<int>(t % 60));
  return fmt::format("{}s", t);
}

namespace {
// A live bar only on a real terminal: Open MPI hands ranks a pseudo-terminal even when mpirun's
// output goes to a file, so under a launcher plain lines are the safe default.
// UNL_PROGRESS=bar|lines overrides.
bool live_bar() {
  if (const char* p = std::getenv("UNL_PROGRESS"); p && *p) return std::string(p) == "bar";
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("SLURM_STEP_ID");
  return isatty(STDOUT_FILENO) == 1 && !launched;
}
}  // namespace

Progress::Progress(bool enabled) : enabled_(enabled), tty_(live_bar()) {}

void Progress::start_epoch(int64_t epoch, int64_t batches, int64_t first_batch) {
  epoch_ = epoch;
  batches_ = batches;
  first_ = first_batch;
  start_ = last_print_ = now_s();
}

void Progress::step(int64_t done, const std::map<std::string, double>& terms, double tokens_per_s) {
  if (!enabled_) return;
  const double now = now_s();
  const double per_step = (now - start_) / std::max<int64_t>(1, done - first_);
  const double eta = per_step * static_cast<double>(batches_ - done);
  std::string t;
  for (const auto& [k, v] : terms) t += fmt::format(" {}={:.4f}", k, v);
  if (tty_) {
    const int width = 24;
    const int filled = static_cast<int>(width * done / std::max<int64_t>(1, batches_));
    fmt::print("\r  epoch {} [{}{}] {}/{} {:.0f} tok/s, epoch ETA {}{}   ", epoch_, std::string(filled, '#'),
               std::string(width - filled, '.'), done, batches_, tokens_per_s, format_duration(eta), t);
    std::fflush(stdout);
  } else if (now - last_print_ > 30 || done == batches_ || done == first_ + 1) {
    log::info("  epoch {} step {}/{}: {:.0f} tok/s, epoch ETA {}{}", epoch_, done, batches_, tokens_per_s,
              format_duration(eta), t);
    last_print_ = now;
  }
}

void Progress::end_epoch() {
  if (enabled_ && tty_) fmt::print("\n");
}

void print_before_summary(const JobState& s, const unlearn::Thresholds& t, int n) {
  double ma = 0, el = 0;
  for (const auto& m : s.before) {
    ma += m.ma / s.before.size();
    el += m.el / s.before.size();
  }
  const auto active = std::count(s.flags.begin(), s.flags.end(), 1);
  log::info("before unlearning: {} forget samples, {} already forgotten (epoch-0 check), {} to unlearn; mean MA {:.4f} "
            "(< {:.4f} needed), mean EL{} {:.4f} (< {:.4f} needed){}",
            s.before.size(), static_cast<int64_t>(s.flags.size()) - active, active, ma, t.ma, n, el, t.el,
            s.heldout_ppl_before > 0 ? fmt::format(", held-out PPL {:.2f}", s.heldout_ppl_before) : "");
}

void print_epoch_summary(const JobState& s, const unlearn::Thresholds& t, int n) {
  if (s.history.empty()) return;
  const auto& r = s.history.back();
  const int64_t total = static_cast<int64_t>(s.flags.size());
  const int64_t forgotten = total - r.active_after;
  // Epochs left: extrapolate the rate at which samples leave the active set.
  std::string left = "?";
  const int64_t dropped = total - r.active_after;
  if (r.active_after == 0) {
    left = "0";
  } else if (dropped > 0) {
    left = fmt::format("~{:.1f}", static_cast<double>(r.active_after) * static_cast<double>(s.epoch) / dropped);
  }
  log::info("epoch {}: {}/{} forgotten, {} active, mean EL{} {:.4f} (< {:.4f} needed), mean MA {:.4f} (< {:.4f} "
            "needed), mean BLEU {:.4f}{}, {} epochs left, epoch took {}",
            r.epoch + 1, forgotten, total, r.active_after, n, r.mean_el, t.el, r.mean_ma, t.ma, r.mean_bleu,
            r.heldout_ppl > 0 ? fmt::format(", held-out PPL {:.2f}", r.heldout_ppl) : "", left,
            format_duration(r.wall_s));
}

}  // namespace unl::driver
