// Rank-aware logging: rank 0 only by default, every rank with an [rN] prefix on request.
// Level and rank filter come from UNL_LOG_LEVEL (trace|debug|info|warn|error|off) and
// UNL_LOG_ALL_RANKS=1, or from the run configuration.
#pragma once

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace unl::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

/// Read UNL_LOG_LEVEL / UNL_LOG_ALL_RANKS and remember this process's rank and the world size.
void init(int rank, int world);
void set_level(Level level);
Level level();
void set_all_ranks(bool all);
/// Parse a level name; throws unl::UsageError naming the accepted values.
Level parse_level(std::string_view name);
bool enabled(Level level);
/// Write one line (already formatted). Info and below go to stdout, warnings and errors to stderr.
void write(Level level, std::string_view message);

template <typename... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kTrace)) write(Level::kTrace, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
/// Errors that must reach the user from whichever rank hit them (ignores the rank filter).
void error_any_rank(std::string_view message);

}  // namespace unl::log
