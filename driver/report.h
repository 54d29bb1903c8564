// The run's human and machine reports: report.json (before/after metrics, per-epoch history,
// per-sample outcomes, hashes for audit) and report.html (inline SVG plots, no network needed).
#pragma once

#include <string>

#include "driver/inputs.h"
#include "driver/job_config.h"
#include "driver/job_state.h"
#include "model/tokenizer.h"
#include "unlearn/refinement.h"

namespace unl::driver {

/// Writes out_dir/report.json and out_dir/report.html (reads out_dir/metrics.jsonl for the
/// per-step loss curves).
void write_reports(const std::string& out_dir, const JobConfig& cfg, const JobState& state,
                   const unlearn::Thresholds& thresholds, const TokenSet& forget,
                   const model::Tokenizer* tokenizer, int world_size);

/// The HTML report from a report.json document and the step records (exposed for tests).
std::string render_report_html(const std::string& report_json, const std::string& metrics_jsonl);

}  // namespace unl::driver
