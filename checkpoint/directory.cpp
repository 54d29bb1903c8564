// The checkpoints directory: commit (atomic file, then `latest`, then retention), listing, and
// finding the newest checkpoint that verifies, skipping corrupt or partial ones with a warning.
#include <algorithm>
#include <cctype>
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
  write(path, s);
  durable::write_text_atomic(dir_ + "/latest", name + "\n");

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
