// The job configuration as typed structs, one per TOML section, filled and validated in one place
// (job_config.cpp) from TOML text plus --set overrides. One table binds every key to its field
// (type, default, meaning, allowed values, whether resuming may change it); parsing, the
// resolved TOML, the resume hash and docs/config-reference.md all come from that table.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace unl::driver {

struct ModelConfig {
  std::string path;             // Hugging Face model directory
  std::string tokenizer;        // tokenizer directory ("" = the model's, else built-in GPT-2)
  std::string dtype = "float32";
};

struct DataConfig {
  std::string forget, retain, heldout;
  std::string format = "auto";
  std::string text_field = "text";
  std::string prompt_field = "question";
  std::string response_field = "answer";
  std::string chat_template = "auto";
  std::string separator = "\n";
  std::string h5_dataset = "tokens";
  int64_t col_begin = 0;
  int64_t col_end = -1;
  int64_t max_tokens = 200;
  int64_t limit = -1;
};

struct MethodConfig {
  std::string name = "icu";
  double w_forget = 1.0;
  double w_learn = 0.5;
  double w_kl = 1.0;
  double npo_beta = 0.1;
};

struct OptimConfig {
  double lr = 5e-6;
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-8;
};

struct TrainConfig {
  int64_t batch_size = 8;
  std::string batching = "active";
  int64_t max_epochs = 30;
  int64_t max_steps = -1;
  int64_t seed = 42;
  std::string nan_policy = "stop";
  int64_t check_weights_every = 0;
  std::string precision = "auto";
  int64_t micro_batch_size = 0;
  bool activation_checkpointing = false;
  int64_t zero_stage = 0;
};

struct NeighboursConfig {
  std::string index;  // file of precomputed pairs ("" = mine them)
  std::string embedder = "model";
  std::string embedder_model;
  std::string distance = "l2";
  int64_t span_begin = 100;
  int64_t span_end = 200;
  int64_t batch_size = 16;
};

struct EvalConfig {
  int64_t n = 10;
  int64_t suffix_start = 150;
  int64_t prompt_begin = 100;
  int64_t prefix_len = 50;
  int64_t gen_len = 50;
  int64_t num_beams = 2;
  int64_t batch_size = 16;
  std::string bertscore_model;
  int64_t bertscore_layer = 9;
  std::string tasks;            // eval/ tasks during `unlearn run` ("" = none); docs/evaluation.md
  int64_t every_epochs = 1;
  double min_k = 0.4;
  int64_t max_length = 512;
  int64_t ppl_window = 512;
  int64_t answer_tokens = 200;  // tofu: greedy answer length
  std::string retain_eval;      // tofu: a retain-only model's eval.json (forget quality)
};

struct ThresholdsConfig {
  std::string rule = "official";
  std::string mode = "fixed";
  double ma = 0.5994;
  double el = 0.0499;
  double bleu = 0.01;
  double bertscore = 0.3;
  bool use_ma = true;
  bool use_el = true;
  bool use_bleu = true;
  std::string refinement = "recompute";
};

struct CheckpointConfig {
  int64_t every_steps = 0;
  int64_t keep_last = 3;
};

struct OutputConfig {
  std::string dir = "out";
  std::string log_level = "info";
  bool save_final = true;
};

struct RuntimeConfig {
  std::string device = "auto";
  int64_t threads = 0;
  std::string comm_backend = "auto";
  double bucket_mb = 25.0;
  double stall_timeout_s = 900.0;
  bool deterministic_reductions = false;
};

/// The whole job. Default-constructed: every key at its documented default.
struct JobConfig {
  ModelConfig model;
  DataConfig data;
  MethodConfig method;
  OptimConfig optim;
  TrainConfig train;
  NeighboursConfig neighbours;
  EvalConfig eval;
  ThresholdsConfig thresholds;
  CheckpointConfig checkpoint;
  OutputConfig output;
  RuntimeConfig runtime;
  /// Directory the config file was read from ("" for text); relative paths resolve there.
  std::string base_dir;

  /// Start from the defaults (and a preset's values when `preset` is not empty), parse TOML text
  /// (source names it in messages), then apply --set overrides ("key=value"). Unknown keys, wrong
  /// types, unknown presets and impossible values are collected and thrown together as one
  /// unl::UsageError.
  static JobConfig from_toml(const std::string& text, const std::string& source,
                             const std::vector<std::string>& overrides = {}, const std::string& preset = "");
  static JobConfig from_file(const std::string& path, const std::vector<std::string>& overrides = {},
                             const std::string& preset = "");

  /// The resolved configuration as TOML (every key, grouped by section).
  std::string to_toml() const;
  /// Hash of the resume-sensitive keys.
  std::string resume_hash() const;
  /// Resume-sensitive keys whose values differ from `saved`, as "key (checkpoint: a, now: b)".
  std::vector<std::string> resume_conflicts(const JobConfig& saved) const;
  /// Make every path-valued key absolute (relative ones resolve against base_dir, else the
  /// working directory), so the saved config means the same files anywhere.
  void resolve_paths();
};

/// A key's value in its TOML type.
using ConfigValue = std::variant<int64_t, double, bool, std::string>;

/// One row of the key table.
struct ConfigKey {
  std::string key;                   // "section.name"
  std::string help;
  bool resume_sensitive = false;     // resuming with another value would be another run
  bool is_path = false;              // resolved against the config file's directory
  std::vector<std::string> choices;  // allowed values of a string key (empty: any)
  ConfigValue (*get)(const JobConfig&) = nullptr;
  void (*set)(JobConfig&, const ConfigValue&) = nullptr;
  ConfigValue default_value() const { return get(JobConfig{}); }
};

/// A named set of values applied before the job file (`unlearn run --preset NAME`): the file and
/// --set still override them.
struct ConfigPreset {
  std::string name;
  std::string description;
  std::vector<std::string> values;  // "key=value", as --set takes them
};
const std::vector<ConfigPreset>& config_presets();

/// Every configuration key, in documentation order.
const std::vector<ConfigKey>& config_keys();
/// The table row of a key, or nullptr.
const ConfigKey* find_config_key(const std::string& key);

/// The configuration reference as Markdown (docs/config-reference.md is this text).
std::string config_reference_markdown();

}  // namespace unl::driver
