// What a job reads: the model (plus the frozen reference), the tokenizer, and the data sets,
// loaded and cross-checked (vocabulary sizes, token ids) before any work starts.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "data/data.h"
#include "driver/job_config.h"
#include "eval/tasks.h"
#include "model/model.h"

namespace unl::driver {

struct TokenSet {
  std::string path;
  std::vector<int64_t> ids;
  std::vector<std::vector<int64_t>> tokens;
  std::vector<std::string> texts;  // empty strings for token formats
  /// Per row: leading prompt tokens (question/answer and chat data), never targets; all 0 for text.
  std::vector<int64_t> prompt_lens;
  std::string hash;                // content hash for the report
  size_t size() const { return tokens.size(); }
};

/// The tokenizer of a model (model.tokenizer and model.path, or --tokenizer and --model):
/// `explicit_dir` when given, else the model directory's tokenizer files, else the built-in GPT-2
/// vocabulary, with a warning unless `warn_builtin` is false.
model::Tokenizer load_tokenizer(const std::string& explicit_dir, const std::string& model_dir, bool warn_builtin = true);
/// How unl::data reads the data set at `path` under the [data] format options.
data::DataSpec data_spec(const DataConfig& cfg, const std::string& path, int64_t limit = -1);
/// The data set at `path` (data.forget, data.retain, ...) read with the [data] format options.
/// qa/chat samples are rendered through the tokenizer's chat template (data.chat_template =
/// "auto" and the tokenizer has one), else joined with data.separator.
TokenSet load_token_set(const DataConfig& cfg, const std::string& path, const model::Tokenizer& tok,
                        int64_t vocab_size, int64_t limit = -1);
/// A data set from a path with default options (eval/train subcommands).
TokenSet load_token_set_path(const std::string& path, const model::Tokenizer& tok,
                             int64_t vocab_size, int64_t max_tokens);
/// How load_token_set turns text into tokens under these [data] options (`tok` must outlive it).
data::TextEncoder text_encoder(const DataConfig& cfg, const model::Tokenizer& tok);
/// One question/answer pair rendered exactly as a `data.format = qa` line is (chat template or
/// data.separator): for TOFU-style evaluation tasks. `tok` must outlive it.
eval::QaEncodeFn qa_encoder(const DataConfig& cfg, const model::Tokenizer& tok);
/// Whether qa/chat samples of this config are rendered through `tok`'s chat template.
bool uses_chat_template(const DataConfig& cfg, const model::Tokenizer& tok);
/// Collective. Every rank reads its inputs itself (a shared filesystem, or copies on each node):
/// check the model directory, the tokenizer and every data set are the same on all ranks, and
/// throw on every rank, naming the ranks, inputs and paths that differ from rank 0's, if not.
/// Without it a rank with an older copy of a file trains on other data and nothing notices.
void check_inputs_agree(comm::Communicator& comm, const JobConfig& cfg, const model::Tokenizer& tok,
                        const std::vector<const TokenSet*>& sets);
/// A model directory's fingerprint: config.json by content, the (large) weight files by name and
/// size, which a truncated or different-version copy changes, without reading gigabytes.
std::string model_dir_fingerprint(const std::string& dir);
/// Pick the torch device for this rank: cuda:<local_rank % devices> when requested/available.
torch::Device select_device(const std::string& wanted, int local_rank);

}  // namespace unl::driver
