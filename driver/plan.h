// `unlearn plan`: bytes per rank of a job before it is queued, from config.json and the
// safetensors headers only (no weights are read), per precision / micro-batch / activation
// checkpointing configuration, and whether each fits a device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace unl::driver {

struct PlanArgs {
  std::string model;               // model directory (config.json; safetensors optional)
  int64_t ranks = 1;
  std::string device_memory;       // e.g. "80GiB", "40GB", "" = no verdict
  int64_t batch_size = 8;          // global batch (forget samples)
  int64_t seq_len = 200;           // tokens per row
  std::string method = "icu";      // icu | ga | graddiff | npo | finetune
  int64_t zero_stage = 0;          // train.zero_stage (0, 1 or 2)
  double bucket_mb = 25;           // runtime.bucket_mb
};

/// What a model is, for planning: parameter count and shape facts.
struct PlanModel {
  model::ModelConfig config;
  int64_t parameters = 0;
  std::string stored_dtype;  // "bfloat16", "float32", ... ("" when no weights are present)
};

/// One configuration's bytes per rank (at zero_stage 0 every rank holds all of it; from stage 1
/// master weights and moments are one rank's slice of the flat layout).
struct PlanRow {
  std::string precision;       // fp32 | bf16-mixed
  int64_t zero_stage = 0;
  int64_t micro_batch = 0;     // samples per forward/backward on a rank
  bool checkpointing = false;
  double weights = 0, master = 0, moments = 0, grads = 0, reference = 0, activations = 0;
  /// Working buffers of a step: the all-reduce scratch (the largest bucket), the reduce-scatter
  /// send buffer (stage 2) and Adam's temporary (the largest tensor it updates at once).
  double buffers = 0;
  double total() const { return weights + master + moments + grads + reference + activations + buffers; }
};

/// "80GiB", "80 GiB", "40GB", "512MiB", "1.5TiB" or plain bytes -> bytes; throws UsageError.
double parse_bytes(const std::string& text);
/// Parameter count from the config alone (the shapes model::load_pretrained would require).
int64_t count_parameters(const model::ModelConfig& config);
/// The model of a directory: config.json, plus the stored dtype from safetensors headers if any.
PlanModel plan_model(const std::string& dir);
/// The rows `unlearn plan` prints: fp32 / bf16-mixed x whole share / micro-batch 1 x activation
/// checkpointing off / on. Activations are an estimate (see docs/large-models.md for the terms).
std::vector<PlanRow> plan_rows(const PlanModel& model, const PlanArgs& args);
/// The printed report.
std::string plan_report(const PlanModel& model, const PlanArgs& args);

/// `unlearn plan`: prints plan_report; exit 0.
int cmd_plan(const PlanArgs& args);

}  // namespace unl::driver
