// Resident memory of this process, for progress records and the memory benchmark: the peak
// resident set (VmHWM) and a way to restart it, so the peak of a phase (the training steps) can be
// told apart from set-up (loading weights, mining neighbours). Linux /proc; 0 / false elsewhere.
#pragma once

#include <cstdint>

namespace unl {

/// Peak resident set size in bytes since the process started or since reset_peak_rss().
int64_t peak_rss_bytes();
/// Current resident set size in bytes.
int64_t current_rss_bytes();
/// Returns freed heap memory to the kernel (malloc_trim), then restarts the peak at the current
/// resident size (writes "5" to /proc/self/clear_refs).
bool reset_peak_rss();

}  // namespace unl
