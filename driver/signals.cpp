// Async-signal-safe stop flag and the Slurm wall-clock budget.
#include "driver/signals.h"

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <initializer_list>

namespace unl::driver {
namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) { g_signal = sig; }
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &sa, nullptr);
  // A write past the file-size limit (ulimit -f, a batch system's limit) would otherwise kill
  // the rank mid-checkpoint with no word about which file; ignored, write() fails with EFBIG
  // and the checkpoint writer reports the path and the limit, keeping the previous checkpoint.
  std::signal(SIGXFSZ, SIG_IGN);
}

int stop_signal() { return g_signal; }

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "signal";
  }
}

double seconds_until_job_end() {
  const char* end = std::getenv("SLURM_JOB_END_TIME");
  if (!end || !*end) return -1;
  const long long t = std::atoll(end);
  if (t <= 0) return -1;
  return static_cast<double>(t - static_cast<long long>(std::time(nullptr)));
}

}  // namespace unl::driver
