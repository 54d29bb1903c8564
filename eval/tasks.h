// The evaluation tasks: each turns its documents into requests of one kind (eval/runner.h) and
// the runner's outputs into metrics (eval/results.h). Utility tasks follow the official ICU
// valid.py; the membership-inference task follows open-unlearning / MUSE.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eval/results.h"
#include "eval/runner.h"
#include "eval/task_files.h"
#include "model/tokenizer.h"

namespace unl::eval {

struct TaskOptions {
  int64_t max_length = 512;    // choice / lambada / dialogue: tokens the model sees (context cut on the left)
  int64_t ppl_window = 512;    // ppl: non-overlapping window length
  int64_t reply_tokens = 32;   // dialogue: greedy reply length
  std::optional<double> retain_auc;  // mia: Min-k% AUC of a retain-only model -> privleak
  /// tofu: greedy answer length for ROUGE (open-unlearning generates 200 tokens); capped at half
  /// of max_length, the question keeps the rest (cut on the left).
  int64_t answer_tokens = 200;
  /// tofu: the retain-only model's eval.json; its <name>_truth_ratio scores give forget quality.
  std::string retain_eval;
};

class Task {
 public:
  virtual ~Task() = default;
  const std::string& name() const { return name_; }
  virtual RequestKind kind() const = 0;
  /// The kind of requests()[i]: kind() unless the task mixes kinds (TOFU: log-likelihoods and
  /// greedy answers). The runner batches each kind separately.
  virtual RequestKind kind_of(size_t /*request*/) const { return kind(); }
  /// Names of this task's metrics that enter TOFU's model utility (driver: eval::model_utility).
  virtual std::vector<std::string> utility_metrics() const { return {}; }
  const std::vector<Request>& requests() const { return requests_; }
  /// Whether the reference model (--reference) should run the same requests.
  virtual bool uses_reference() const { return false; }
  /// outputs[i] answers requests()[i]; reference (when uses_reference and a reference model is
  /// given) likewise from the reference model, else nullptr.
  virtual std::vector<MetricResult> results(const std::vector<Output>& outputs,
                                            const std::vector<Output>* reference) const = 0;

 protected:
  explicit Task(std::string name) : name_(std::move(name)) {}
  std::string name_;
  std::vector<Request> requests_;
};

/// choice, lambada, dialogue or ppl from its file.
std::unique_ptr<Task> make_file_task(const TaskSpec& spec, const model::Tokenizer& tok, const TaskOptions& options);

/// Membership inference between `forget` and `holdout` token sequences (each >= 2 tokens): per
/// sample LOSS, zlib ratio (loss / zlib size of the decoded text), Min-k%, Min-k%++, the
/// reference ratio (loss - reference loss) with a reference model; the AUC of each between the
/// sets; exact memorisation and extraction strength of the forget set; PrivLeak with retain_auc.
std::unique_ptr<Task> make_mia_task(const std::string& name, const std::vector<std::vector<int64_t>>& forget,
                                    const std::vector<std::vector<int64_t>>& holdout, const model::Tokenizer& tok,
                                    const TaskOptions& options);

/// A question and an answer as the model reads them (the `data.format = qa` rendering: the chat
/// template, or question + separator + answer): tokens, of which the first prompt_len are the
/// question (kMaskPrompt in training), the rest the answer.
struct QaTokens {
  std::vector<int64_t> tokens;
  int64_t prompt_len = 0;
};
using QaEncodeFn = std::function<QaTokens(const std::string& question, const std::string& answer)>;
/// Generated token ids -> text (special tokens skipped).
using DecodeFn = std::function<std::string(const std::vector<int64_t>&)>;

/// TOFU metrics (eval/tofu.h) of a `tofu` (forget set), `tofu_retain` or `tofu_options` file: one
/// log-likelihood request per answer, paraphrase and perturbed answer given the question (scored
/// on the answer tokens only), one greedy generation per question for ROUGE-L. With
/// options.retain_eval (kind tofu) the forget quality against that file's <name>_truth_ratio.
std::unique_ptr<Task> make_tofu_task(const TaskSpec& spec, const QaEncodeFn& encode, const DecodeFn& decode,
                                     const TaskOptions& options);

}  // namespace unl::eval
