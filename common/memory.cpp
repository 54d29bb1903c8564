// /proc/self/status and /proc/self/clear_refs readers.
#include "common/memory.h"

#include <malloc.h>

#include <fstream>
#include <string>

namespace unl {
namespace {

// A "Key:   123 kB" line of /proc/self/status, in bytes.
int64_t status_kib_field(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    try {
      return std::stoll(line.substr(prefix.size())) * 1024;
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

int64_t peak_rss_bytes() { return status_kib_field("VmHWM"); }
int64_t current_rss_bytes() { return status_kib_field("VmRSS"); }

bool reset_peak_rss() {
  // Hand freed heap memory back to the kernel first (glibc keeps it otherwise), so the new peak
  // counts what is in use from here on, not what set-up once needed.
  malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

}  // namespace unl
