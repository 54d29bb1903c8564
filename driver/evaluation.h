// Sharded evaluation for the run loop and `unlearn eval`: each rank scores its block of samples,
// rank 0 gathers them in sample order. Also the method factory (ICU, baselines, fine-tuning).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "driver/inputs.h"
#include "driver/job_config.h"
#include "model/causal_lm.h"
#include "model/tokenizer.h"
#include "unlearn/bert_encoder.h"
#include "unlearn/method.h"
#include "unlearn/metrics.h"
#include "unlearn/refinement.h"

namespace unl::driver {

struct EvalSettings {
  unlearn::EvalOptions options;  // options.bertscore_encoder points into `bertscore`
  std::shared_ptr<unlearn::BertEncoder> bertscore;
};

unlearn::Thresholds make_thresholds(const JobConfig& cfg);

/// The settings of the [eval] section for data read with `data` (`unlearn run` and `unlearn eval`
/// alike); loads the BERTScore model when eval.bertscore_model is set. A question/answer or chat
/// continuation ends where the model ends its answer (`tok`'s EOS); text samples keep the
/// official fixed-length continuation.
EvalSettings make_eval_settings(const EvalConfig& eval, const DataConfig& data, const model::Tokenizer& tok,
                                int64_t pad_id, torch::Device device);

/// Metrics of every sample of `set`, computed sharded; complete on rank 0 (and broadcast to all
/// ranks, so every rank holds the same list). tokenizer == nullptr skips BLEU. `texts`
/// (optional, complete on rank 0 only) receives each sample's prompt, continuation and reference.
std::vector<unlearn::SampleMetrics> evaluate_forget_set(comm::Communicator& comm, model::CausalLMImpl& model,
                                                        const TokenSet& set, const EvalSettings& eval,
                                                        const model::Tokenizer* tokenizer,
                                                        std::vector<unlearn::ContinuationText>* texts = nullptr);
/// Perplexity over a set (token-weighted), sharded; the same value on every rank.
double heldout_perplexity(comm::Communicator& comm, model::CausalLMImpl& model, const TokenSet& set,
                          const EvalSettings& eval);

/// unlearn::make_method plus "finetune" (plain next-token CE descent, for `unlearn train`).
std::unique_ptr<unlearn::Method> make_job_method(const std::string& name, const unlearn::MethodWeights& w);

/// This process's node-local rank (0 for a single process).
int local_rank_of(comm::Communicator& comm);

}  // namespace unl::driver
