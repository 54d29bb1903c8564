// metrics.jsonl: one JSON record per optimiser step and one per sample per epoch, appended and
// flushed as the run goes, so a crashed or preempted job keeps its log (resumes append).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace unl::driver {

class MetricsLog {
 public:
  MetricsLog() = default;
  /// Opens path for appending (creating it); a no-op log when path is empty (non-zero ranks).
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  MetricsLog(MetricsLog&& other) noexcept;
  MetricsLog& operator=(MetricsLog&& other) noexcept;

  void write(const nlohmann::json& record);

 private:
  FILE* file_ = nullptr;
  std::string path_;
};

}  // namespace unl::driver
