// MetricsLog implementation: line-buffered JSONL appends.
#include "driver/metrics_log.h"

#include <utility>

#include "common/error.h"

namespace unl::driver {

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  if (path.empty()) return;
  file_ = std::fopen(path.c_str(), "a");
  UNL_CHECK(file_ != nullptr, "cannot open metrics log '" + path + "' for appending",
            "check that output.dir is writable and the disk is not full");
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

MetricsLog::MetricsLog(MetricsLog&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)), path_(std::move(other.path_)) {}

MetricsLog& MetricsLog::operator=(MetricsLog&& other) noexcept {
  if (this != &other) {
    if (file_) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!file_) return;
  const std::string line = record.dump() + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  UNL_CHECK(ok, "cannot append to metrics log '" + path_ + "'",
            "the output disk may be full or read-only; free space, then resume with the same command");
}

}  // namespace unl::driver
