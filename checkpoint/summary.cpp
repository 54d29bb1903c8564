// Human-readable rendering of a checkpoint Summary, for `unlearn inspect`.
#include <fmt/format.h>

#include <algorithm>

#include "checkpoint/checkpoint.h"

namespace unl::checkpoint {
namespace {

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

bool is_text(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c == '\n' || c == '\t' || c == '\r' || (c >= 0x20 && c != 0x7f);
  });
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return "[" + fmt::format("{}", fmt::join(shape, ", ")) + "]";
}

}  // namespace

std::string format_summary(const Summary& s, std::size_t max_string) {
  std::string out = fmt::format("checkpoint {} ({}, format version {}): {}\n", s.path,
                                human_bytes(s.file_bytes), s.format_version,
                                s.ok() ? "OK, all checksums verified"
                                       : fmt::format("CORRUPT, {} problem(s)", s.problems.size()));
  if (!s.ints.empty()) {
    out += "  ints:\n";
    for (const auto& [k, v] : s.ints) out += fmt::format("    {} = {}\n", k, v);
  }
  if (!s.strings.empty()) {
    out += "  strings:\n";
    for (const auto& [k, v] : s.strings) {
      if (!is_text(v)) {
        out += fmt::format("    {} = <{} binary>\n", k, human_bytes(v.size()));
        continue;
      }
      std::string shown = v.substr(0, v.find('\n'));
      bool cut = shown.size() < v.size() || shown.size() > max_string;
      if (shown.size() > max_string) shown.resize(max_string);
      out += fmt::format("    {} = \"{}\"{}\n", k, shown,
                         cut ? fmt::format(" ... ({})", human_bytes(v.size())) : "");
    }
  }
  std::uint64_t total = 0;
  for (const auto& t : s.tensors) total += t.bytes;
  out += fmt::format("  tensors: {} ({})\n", s.tensors.size(), human_bytes(total));
  for (const auto& t : s.tensors)
    out += fmt::format("    {}  {} {}  {}  {}\n", t.name, t.dtype.empty() ? "?" : t.dtype,
                       shape_text(t.shape), human_bytes(t.bytes), t.ok ? "ok" : "BAD");
  if (!s.problems.empty()) {
    out += "  problems:\n";
    for (const auto& p : s.problems) out += "    - " + p + "\n";
  }
  return out;
}

}  // namespace unl::checkpoint
