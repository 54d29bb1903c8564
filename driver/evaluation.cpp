// Sharded evaluation and the job's method factory.
#include "driver/evaluation.h"

#include <boost/serialization/vector.hpp>
#include <cmath>

#include "comm/messages.h"
#include "comm/mpi_env.h"
#include "common/error.h"
#include "shard/shard.h"
#include "unlearn/losses.h"

namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, unl::unlearn::ContinuationText& t, const unsigned int) {
  ar& t.prompt& t.generated& t.reference& t.full_window;
}
template <class Archive>
void serialize(Archive& ar, unl::unlearn::SampleMetrics& m, const unsigned int) {
  ar& m.id& m.ma& m.el& m.bleu& m.bertscore& m.loss& m.tokens;
}
}  // namespace boost::serialization

namespace unl::driver {
namespace {

/// Plain fine-tuning: next-token cross-entropy descent on the forget rows (`unlearn train`).
class FinetuneMethod final : public unlearn::Method {
 public:
  std::string name() const override { return "finetune"; }
  bool needs_reference() const override { return false; }
  bool needs_neighbours() const override { return false; }
  unlearn::TermCounts count(const unlearn::Batch& local) const override {
    return {{"forget_tokens", local.rows() ? unlearn::target_count(local.forget_mask) : 0.0}};
  }
  unlearn::StepLoss loss(model::CausalLMImpl& model, model::CausalLMImpl*, const unlearn::Batch& local,
                         const unlearn::TermCounts& global) const override {
    unlearn::StepLoss out;
    if (local.rows() == 0) {
      out.terms["ce"] = 0;
      return out;
    }
    auto logits = model.forward(local.forget_ids, local.forget_mask).logits;
    auto sums = unlearn::token_ce_sum(logits, local.forget_ids, local.forget_mask);
    out.loss = sums / global.at("forget_tokens");
    out.terms["ce"] = out.loss.item<double>();
    return out;
  }
};

// The prompt lengths of rows [b, e) (empty when the set has none: a text set).
std::vector<int64_t> prompt_slice(const TokenSet& set, int64_t b, int64_t e) {
  if (set.prompt_lens.empty()) return {};
  return std::vector<int64_t>(set.prompt_lens.begin() + b, set.prompt_lens.begin() + e);
}

}  // namespace

EvalSettings make_eval_settings(const EvalConfig& eval, const DataConfig& data, const model::Tokenizer& tok,
                                int64_t pad_id, torch::Device device) {
  EvalSettings s;
  s.options.n = static_cast<int>(eval.n);
  s.options.suffix_start = eval.suffix_start;
  s.options.prompt_begin = eval.prompt_begin;
  s.options.prefix_len = eval.prefix_len;
  s.options.gen_len = eval.gen_len;
  s.options.num_beams = eval.num_beams;
  s.options.batch_size = eval.batch_size;
  s.options.pad_token_id = pad_id;
  if (!eval.bertscore_model.empty()) {
    s.bertscore = std::make_shared<unlearn::BertEncoder>(unlearn::load_bert_encoder(eval.bertscore_model, device));
    s.options.bertscore_encoder = s.bertscore.get();
    s.options.bertscore_layers = eval.bertscore_layer;
  }
  if (data.format == "qa" || data.format == "chat") s.options.eos_token_id = tok.eos_id();
  return s;
}

unlearn::Thresholds make_thresholds(const JobConfig& cfg) {
  unlearn::Thresholds t;
  t.rule = unlearn::parse_forget_rule(cfg.thresholds.rule);
  t.bertscore = cfg.thresholds.bertscore;
  t.ma = cfg.thresholds.ma;
  t.el = cfg.thresholds.el;
  t.bleu = cfg.thresholds.bleu;
  t.use_ma = cfg.thresholds.use_ma;
  t.use_el = cfg.thresholds.use_el;
  t.use_bleu = cfg.thresholds.use_bleu;
  return t;
}

std::vector<unlearn::SampleMetrics> evaluate_forget_set(comm::Communicator& comm, model::CausalLMImpl& model,
                                                        const TokenSet& set, const EvalSettings& eval,
                                                        const model::Tokenizer* tokenizer,
                                                        std::vector<unlearn::ContinuationText>* texts) {
  const bool was_training = model.is_training();
  model.eval();
  auto [b, e] = shard::block_range(static_cast<int64_t>(set.size()), comm.size(), comm.rank());
  std::vector<int64_t> ids(set.ids.begin() + b, set.ids.begin() + e);
  std::vector<std::vector<int64_t>> seqs(set.tokens.begin() + b, set.tokens.begin() + e);
  const std::vector<int64_t> prompts = prompt_slice(set, b, e);
  std::vector<unlearn::SampleMetrics> mine;
  std::vector<unlearn::ContinuationText> my_texts;
  if (!seqs.empty()) {
    unlearn::DecodeFn decode;
    if (tokenizer) decode = [tokenizer](const std::vector<int64_t>& t) { return tokenizer->decode(t); };
    mine = unlearn::evaluate_samples(model, ids, seqs, eval.options, decode, texts ? &my_texts : nullptr, prompts);
  }
  if (was_training) model.train();
  if (texts) {
    auto text_parts = comm::gather_objects(comm, my_texts);
    texts->clear();
    for (auto& p : text_parts) texts->insert(texts->end(), p.begin(), p.end());
  }
  auto parts = comm::gather_objects(comm, mine);
  std::vector<unlearn::SampleMetrics> all;
  for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  comm::broadcast_object(comm, all);
  UNL_CHECK(all.size() == set.size(), "evaluation returned " + std::to_string(all.size()) + " of " +
                                          std::to_string(set.size()) + " samples",
            "this is a bug in the sharded evaluation");
  return all;
}

double heldout_perplexity(comm::Communicator& comm, model::CausalLMImpl& model, const TokenSet& set,
                          const EvalSettings& eval) {
  const bool was_training = model.is_training();
  model.eval();
  auto [b, e] = shard::block_range(static_cast<int64_t>(set.size()), comm.size(), comm.rank());
  std::vector<std::vector<int64_t>> seqs(set.tokens.begin() + b, set.tokens.begin() + e);
  double sum = 0;
  int64_t count = 0;
  if (!seqs.empty()) {
    auto r = unlearn::cross_entropy_sum(model, seqs, eval.options.batch_size, eval.options.pad_token_id,
                                        prompt_slice(set, b, e));
    sum = r.first;
    count = r.second;
  }
  if (was_training) model.train();
  sum = comm.allreduce_sum(sum);
  count = comm.allreduce_sum(count);
  return count > 0 ? std::exp(sum / static_cast<double>(count)) : -1;
}

std::unique_ptr<unlearn::Method> make_job_method(const std::string& name, const unlearn::MethodWeights& w) {
  if (name == "finetune") return std::make_unique<FinetuneMethod>();
  return unlearn::make_method(name, w);
}

int local_rank_of(comm::Communicator& comm) {
  if (comm.backend() == "local") return 0;
  return comm::node_placement().local_rank;
}

}  // namespace unl::driver
