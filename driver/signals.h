// SIGTERM / SIGUSR1 (what Slurm sends before a time limit or preemption) are noted in a flag;
// the run loop agrees on the flags across ranks at step boundaries, checkpoints, and exits 0.
#pragma once

namespace unl::driver {

/// Install handlers for SIGTERM, SIGUSR1 and SIGINT that only set a flag; ignore SIGXFSZ so a
/// write over the file-size limit fails with EFBIG (reported with its path) instead of killing.
void install_stop_handlers();
/// The signal number seen (0 = none).
int stop_signal();
const char* signal_name(int sig);
/// Seconds until the Slurm job's end (SLURM_JOB_END_TIME), or a negative value when unknown.
double seconds_until_job_end();

}  // namespace unl::driver
