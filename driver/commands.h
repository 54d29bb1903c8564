// The subcommands other than run/train/demo: eval (sharded, under MPI), and the single-process
// model tools tokenize, logits, generate, init, inspect.
#pragma once

#include <cstdint>
#include <string>

#include "comm/communicator.h"

namespace unl::driver {

struct EvalArgs {
  std::string model, forget, heldout, tokenizer;
  int64_t max_tokens = 200, n = 10, suffix_start = 150, prompt_begin = 100, prefix_len = 50, gen_len = 50, beams = 2,
          batch_size = 16;
  std::string bertscore_model;  // empty: BLEU only
  int64_t bertscore_layer = 9;
  double bleu_threshold = 0.01, bertscore_threshold = 0.3;  // the official verdict
  std::string per_sample;  // JSONL file, one line per sample ("" = none)
  // The data options of [data] (see DataConfig): question/answer and chat data.
  std::string format = "auto", text_field = "text", prompt_field = "question", response_field = "answer",
              chat_template = "auto", separator = "\n";
  bool json = false;
  // --tasks (driver/eval_tasks.h): "choice=FILE,lambada=FILE,dialogue=FILE,ppl=FILE,mia,tofu=FILE,..."
  std::string tasks, out, reference;  // out: eval.json; reference: model for the reference MIA score
  double retain_auc = -1;             // Min-k% AUC of a retain-only model (-1: no PrivLeak)
  double min_k = 0.4;
  int64_t max_length = 512, ppl_window = 512;
  int64_t answer_tokens = 200;  // tofu: greedy answer length for ROUGE-L
  std::string retain_eval;      // tofu: a retain-only model's eval.json -> forget quality
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
