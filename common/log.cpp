// Rank-aware logging implementation: one mutex, one line per call, flushed.
#include "common/log.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include "common/error.h"

namespace unl::log {
namespace {
Level g_level = Level::kInfo;
bool g_all_ranks = false;
int g_rank = 0;
int g_world = 1;
std::mutex g_mutex;

const char* tag(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    default: return "";
  }
}

void emit(Level level, std::string_view message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  FILE* out = level >= Level::kWarn ? stderr : stdout;
  std::string prefix;
  if (g_world > 1 && (g_all_ranks || g_rank != 0)) prefix = fmt::format("[r{}] ", g_rank);
  if (level != Level::kInfo) prefix += fmt::format("{}: ", tag(level));
  fmt::print(out, "{}{}\n", prefix, message);
  std::fflush(out);
}
}  // namespace

Level parse_level(std::string_view name) {
  if (name == "trace") return Level::kTrace;
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off") return Level::kOff;
  UNL_USAGE_ERROR("unknown log level '" + std::string(name) + "'",
                  "use one of trace, debug, info, warn, error, off");
}

void init(int rank, int world) {
  g_rank = rank;
  g_world = world;
  if (const char* lv = std::getenv("UNL_LOG_LEVEL"); lv && *lv) g_level = parse_level(lv);
  if (const char* all = std::getenv("UNL_LOG_ALL_RANKS"); all && *all && std::string(all) != "0")
    g_all_ranks = true;
}

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
void set_all_ranks(bool all) { g_all_ranks = all; }

bool enabled(Level level) {
  if (level < g_level || g_level == Level::kOff) return false;
  // Errors and warnings always show from any rank: they are rare and rank-specific.
  return g_all_ranks || g_rank == 0 || level >= Level::kWarn;
}

void write(Level level, std::string_view message) { emit(level, message); }

void error_any_rank(std::string_view message) { emit(Level::kError, message); }

}  // namespace unl::log
