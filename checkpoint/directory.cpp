// The checkpoints directory: commit (atomic file, then `latest`, then retention), listing, and
// finding the newest checkpoint that verifies, skipping corrupt or partial ones with a warning.
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "checkpoint/checkpoint.h"
#include "checkpoint/durable.h"
#include "common/error.h"
#include "common/log.h"

namespace unl::checkpoint {
namespace {

namespace fs = std::filesystem;

/// The step of "ckpt-<10+ digits>.h5", or -1 for any other name (temp files included).
std::int64_t step_of(const std::string& name) {
  const std::string prefix = "ckpt-", suffix = ".h5";
  if (name.size() < prefix.size() + 10 + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return -1;
  return std::stoll(digits);
}

void remove_logged(const std::string& path, const std::string& why) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec)
    log::warn("could not remove {} ({}): {}", path, why, ec.message());
  else
    log::info("removed {} ({})", path, why);
}

std::string megabytes(double bytes) { return std::to_string(static_cast<long long>(bytes / 1e6 + 0.5)) + " MB"; }

/// Bytes the checkpoint file will take, near enough to tell "does not fit" from "fits".
double estimated_bytes(const State& s) {
  double n = 0;
  for (const auto& [name, t] : s.tensors)
    if (t.defined()) n += static_cast<double>(t.numel()) * static_cast<double>(t.element_size());
  for (const auto& [key, value] : s.strings) n += static_cast<double>(key.size() + value.size());
  return n;
}

/// What stopped a checkpoint write, as (problem, hint), from the state of the directory and the
/// process rather than from errno alone: HDF5 makes more calls after the failing write().
std::pair<std::string, std::string> diagnose_write_failure(const std::string& dir, double need, int err) {
  const std::string resume = ", then resume with the same command (it continues from the previous checkpoint)";
  struct statvfs vfs {};
  const bool have_vfs = ::statvfs(dir.c_str(), &vfs) == 0;
  if ((have_vfs && (vfs.f_flag & ST_RDONLY)) || err == EROFS)
    return {"the filesystem holding '" + dir + "' is read-only (EROFS: " + std::strerror(EROFS) + ")",
            "remount it read-write or choose another output.dir" + resume};
  if (::access(dir.c_str(), W_OK) != 0 || err == EACCES || err == EPERM)
    return {"no permission to write in '" + dir + "' (EACCES: " + std::strerror(EACCES) + ")",
            "make the directory writable by this user or choose another output.dir" + resume};
  struct rlimit lim {};
  const bool limited = ::getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY;
  if (err == EFBIG || (limited && need > static_cast<double>(lim.rlim_cur)))
    return {"file too large (EFBIG: " + std::string(std::strerror(EFBIG)) + "): the checkpoint needs ~" + megabytes(need) +
                " but this process may write files of at most " +
                (limited ? megabytes(static_cast<double>(lim.rlim_cur)) : std::string("a size limit")) +
                " (ulimit -f, RLIMIT_FSIZE)",
            "raise the file-size limit (`ulimit -f unlimited`, or the batch system's file-size limit)" + resume};
  const double avail = have_vfs ? static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize) : -1;
  if (err == ENOSPC || err == EDQUOT || (avail >= 0 && avail < need)) {
    const char* code = err == EDQUOT ? "EDQUOT" : "ENOSPC";
    return {"disk full (" + std::string(code) + ": " + std::strerror(err == EDQUOT ? EDQUOT : ENOSPC) +
                "): the checkpoint needs ~" + megabytes(need) + ", " +
                (avail >= 0 ? megabytes(avail) : std::string("too little")) + " is free in '" + dir + "'",
            "free space on that filesystem (old runs; a smaller checkpoint.keep_last) or move output.dir to a "
            "larger one" + resume};
  }
  return {"", ""};
}

}  // namespace

Directory::Directory(std::string dir, int keep_last) : dir_(std::move(dir)), keep_last_(keep_last) {
  UNL_CHECK(keep_last_ >= 1, "checkpoint keep_last must be >= 1, got " + std::to_string(keep_last_),
            "set checkpoint.keep_last to 1 or more");
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string Directory::file_name(std::int64_t step) {
  UNL_CHECK(step >= 0, "checkpoint step must be >= 0, got " + std::to_string(step), "");
  std::string digits = std::to_string(step);
  if (digits.size() < 10) digits.insert(0, 10 - digits.size(), '0');
  return "ckpt-" + digits + ".h5";
}

std::vector<std::pair<std::int64_t, std::string>> Directory::list() const {
  std::vector<std::pair<std::int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::int64_t step = step_of(entry.path().filename().string());
    if (step >= 0 && entry.is_regular_file(ec)) out.emplace_back(step, entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Directory::commit(const State& s, std::int64_t step) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  UNL_CHECK(!ec, "cannot create checkpoint directory '" + dir_ + "': " + ec.message(),
            "check output.dir is writable");
  const std::string name = file_name(step);
  const std::string path = dir_ + "/" + name;
  try {
    // write() removes its temp file on failure, so a failed commit leaves the directory as it was.
    errno = 0;
    write(path, s);
    durable::write_text_atomic(dir_ + "/latest", name + "\n");
  } catch (const Error& e) {
    const int err = errno;
    auto [problem, hint] = diagnose_write_failure(dir_, estimated_bytes(s), err);
    if (problem.empty()) throw;
    std::string previous;
    for (const auto& [st, p] : list())
      if (st < step) previous = p;
    const std::string kept =
        previous.empty() ? " (there is no earlier checkpoint)" : "; the previous checkpoint '" + previous + "' is kept";
    UNL_THROW("cannot write checkpoint '" + path + "': " + problem + kept + " [" + e.description() + "]", hint);
  }

  // Retention: only after the new file and `latest` are durable, so a crash here loses nothing.
  std::vector<std::pair<std::int64_t, std::string>> older;
  for (const auto& [st, p] : list()) {
    if (st > step)
      remove_logged(p, "newer step than the checkpoint just written: left by an abandoned run");
    else if (st < step)
      older.emplace_back(st, p);
  }
  std::size_t keep_older = static_cast<std::size_t>(keep_last_ - 1);
  for (std::size_t i = 0; i + keep_older < older.size(); ++i)
    remove_logged(older[i].second, "checkpoint.keep_last = " + std::to_string(keep_last_));
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string fname = entry.path().filename().string();
    if (durable::is_temp_name(fname) && (fname.rfind("ckpt-", 0) == 0 || fname.rfind("latest", 0) == 0))
      remove_logged(entry.path().string(), "stale temp file of an interrupted write");
  }
  return path;
}

std::optional<std::string> Directory::newest_valid() const {
  auto files = list();
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      verify(it->second);
      return it->second;
    } catch (const Error& e) {
      log::warn("skipping checkpoint {}: {}", it->second, e.description());
    }
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, State>> Directory::load_newest_valid() const {
  auto files = list();
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      return std::make_pair(it->second, read(it->second));
    } catch (const Error& e) {
      log::warn("skipping checkpoint {}: {}", it->second, e.description());
    }
  }
  return std::nullopt;
}

}  // namespace unl::checkpoint
