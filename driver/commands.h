// The subcommands other than run/train/demo: eval (sharded, under MPI), and the single-process
// model tools tokenize, logits, generate, init, inspect.
#pragma once

#include <cstdint>
#include <string>

#include "comm/communicator.h"
#include "driver/job_config.h"

namespace unl::driver {

/// `unlearn eval`: the CLI fills the same [data] and [eval] structs a job's TOML fills, so the
/// subcommand reads data and scores samples exactly as `unlearn run` does.
struct EvalArgs {
  std::string model, forget, heldout, tokenizer;
  /// The data options of [data]: format, fields, chat template, separator, max_tokens (the data
  /// paths above are the eval command's own).
  DataConfig data;
  /// The options of [eval]: EL_n / continuation check, BERTScore, batch size; tasks is --tasks
  /// (driver/eval_tasks.h: "choice=FILE,lambada=FILE,dialogue=FILE,ppl=FILE,mia,tofu=FILE,..."); tofu uses
  /// answer_tokens and retain_eval (--answer-tokens, --retain-eval).
  EvalConfig eval;
  double bleu_threshold = 0.01, bertscore_threshold = 0.3;  // the official verdict
  std::string per_sample;  // JSONL file, one line per sample ("" = none)
  bool json = false;
  std::string out, reference;  // --tasks: out: eval.json; reference: model for the reference MIA score
  double retain_auc = -1;      // Min-k% AUC of a retain-only model (-1: no PrivLeak)
};

int cmd_eval(const EvalArgs& args, comm::Communicator& comm);
int cmd_tokenize(const std::string& tokenizer_dir, const std::string& input, bool add_special_tokens = false);
int cmd_logits(const std::string& model_dir, const std::string& ids, const std::string& out);
int cmd_generate(const std::string& model_dir, const std::string& prompt, int64_t max_new, int64_t beams);
int cmd_init(const std::string& family, const std::string& config_json, const std::string& out, int64_t seed);
/// Exit 0 when every checksum verifies, 1 otherwise.
int cmd_inspect(const std::string& path);
/// A commented example job.toml.
std::string example_job_toml();

/// Write a float32 C-order .npy file (for `unlearn logits --out`).
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace unl::driver
