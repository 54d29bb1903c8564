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
#include "unlearn/method.h"
#include "unlearn/metrics.h"
#include "unlearn/refinement.h"

namespace unl::driver {

struct EvalSettings {
  unlearn::EvalOptions options;
};

EvalSettings make_eval_settings(const JobConfig& cfg, int64_t pad_id);
unlearn::Thresholds make_thresholds(const JobConfig& cfg);

/// Metrics of every sample of `set`, computed sharded; complete on rank 0 (and broadcast to all
/// ranks, so every rank holds the same list). tokenizer == nullptr skips BLEU.
std::vector<unlearn::SampleMetrics> evaluate_forget_set(comm::Communicator& comm, model::CausalLMImpl& model,
                                                        const TokenSet& set, const EvalSettings& eval,
                                                        const model::Tokenizer* tokenizer);
/// Perplexity over a set (token-weighted), sharded; the same value on every rank.
double heldout_perplexity(comm::Communicator& comm, model::CausalLMImpl& model, const TokenSet& set,
                          const EvalSettings& eval);

/// unlearn::make_method plus "finetune" (plain next-token CE descent, for `unlearn train`).
std::unique_ptr<unlearn::Method> make_job_method(const std::string& name, const unlearn::MethodWeights& w);

/// This process's node-local rank (0 for a single process).
int local_rank_of(comm::Communicator& comm);

}  // namespace unl::driver
