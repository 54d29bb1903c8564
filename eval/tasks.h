// The evaluation tasks: each turns its documents into requests of one kind (eval/runner.h) and
// the runner's outputs into metrics (eval/results.h). Utility tasks follow the official ICU
// valid.py; the membership-inference task follows open-unlearning / MUSE.
#pragma once

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
};

class Task {
 public:
  virtual ~Task() = default;
  const std::string& name() const { return name_; }
  virtual RequestKind kind() const = 0;
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

}  // namespace unl::eval
