// Shared helpers for the libFuzzer targets: write the input to a per-process temp file, and the
// one rule every target checks — hostile input may only ever end in unl::Error.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace unl::fuzz {

/// A file under /tmp named for this process (reused across iterations, removed at exit).
inline std::string temp_path(const std::string& suffix) {
  return "/tmp/unl-fuzz-" + std::to_string(::getpid()) + suffix;
}

/// Write `size` bytes to `path` (truncating) and return the path.
inline const std::string& write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

/// Removes a temp file when the process exits normally.
struct TempFile {
  std::string path;
  explicit TempFile(std::string p) : path(std::move(p)) {}
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace unl::fuzz
