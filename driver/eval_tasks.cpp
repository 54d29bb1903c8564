// Sharded execution of evaluation tasks and the `unlearn eval --tasks` command.
#include "driver/eval_tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include "comm/messages.h"
#include "common/error.h"
#include "driver/evaluation.h"
#include "driver/inputs.h"
#include "driver/state_io.h"
#include "model/model.h"
#include "shard/shard.h"

namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, unl::eval::Output& o, const unsigned int) {
  ar& o.index& o.values& o.tokens;
}
}  // namespace boost::serialization

namespace unl::driver {
namespace fs = std::filesystem;

std::vector<eval::Output> run_task_sharded(comm::Communicator& comm, model::CausalLMImpl& model,
                                           const eval::Task& task, const eval::RunnerOptions& options) {
  const auto& requests = task.requests();
  // One plan per request kind (in RequestKind order), each a pure function of its requests'
  // lengths, concatenated; ranks take contiguous blocks of the whole list.
  std::vector<std::pair<eval::RequestKind, std::vector<int64_t>>> plan;
  for (auto kind : {eval::RequestKind::kLoglik, eval::RequestKind::kScore, eval::RequestKind::kGenerate}) {
    std::vector<int64_t> ids, lengths;
    for (size_t i = 0; i < requests.size(); ++i)
      if (task.kind_of(i) == kind) ids.push_back(static_cast<int64_t>(i)), lengths.push_back(requests[i].length());
    for (auto& batch : eval::plan_batches(lengths, options.batch_size)) {
      for (auto& k : batch) k = ids[k];
      plan.emplace_back(kind, std::move(batch));
    }
  }
  auto [b, e] = shard::block_range(static_cast<int64_t>(plan.size()), comm.size(), comm.rank());
  const bool was_training = model.is_training();
  model.eval();
  std::vector<eval::Output> mine;
  for (int64_t k = b; k < e; ++k) {
    auto part = eval::run_batch(model, plan[k].first, requests, plan[k].second, options);
    mine.insert(mine.end(), part.begin(), part.end());
  }
  if (was_training) model.train();
  auto parts = comm::gather_objects(comm, mine);
  std::vector<eval::Output> all;
  if (comm.rank() != 0) return all;
  all.resize(requests.size());
  size_t seen = 0;
  for (auto& p : parts)
    for (auto& o : p) {
      UNL_CHECK(o.index >= 0 && o.index < static_cast<int64_t>(all.size()) && all[o.index].index < 0,
                "task " + task.name() + ": request " + std::to_string(o.index) + " answered twice or out of range",
                "this is a bug in the sharded evaluation");
      all[o.index] = std::move(o);
      ++seen;
    }
  UNL_CHECK(seen == requests.size(), "task " + task.name() + ": " + std::to_string(seen) + " of " +
                                         std::to_string(requests.size()) + " requests answered",
            "this is a bug in the sharded evaluation");
  return all;
}

std::vector<eval::MetricResult> evaluate_tasks(comm::Communicator& comm, model::CausalLMImpl& model,
                                               model::CausalLMImpl* reference,
                                               const std::vector<std::unique_ptr<eval::Task>>& tasks,
                                               const eval::RunnerOptions& options) {
  std::vector<eval::MetricResult> results;
  for (const auto& t : tasks) {
    auto out = run_task_sharded(comm, model, *t, options);
    std::vector<eval::Output> ref;
    const bool with_ref = reference && t->uses_reference();
    if (with_ref) ref = run_task_sharded(comm, *reference, *t, options);
    if (comm.rank() != 0) continue;
    auto r = t->results(out, with_ref ? &ref : nullptr);
    results.insert(results.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
  }
  // TOFU's model utility: the harmonic mean over every retain / options task's components.
  std::vector<std::string> utility;
  for (const auto& t : tasks)
    for (auto& n : t->utility_metrics()) utility.push_back(std::move(n));
  if (comm.rank() == 0)
    if (auto mu = eval::model_utility(results, utility)) results.push_back(std::move(*mu));
  return results;
}

std::string samples_path_for(const std::string& out) {
  fs::path p(out);
  return (p.parent_path() / (p.stem().string() + ".samples.jsonl")).string();
}

int cmd_eval_tasks(const EvalArgs& a, comm::Communicator& comm) {
  const auto specs = eval::parse_task_list(a.eval.tasks);
  if (!a.eval.retain_eval.empty() &&
      std::none_of(specs.begin(), specs.end(), [](const auto& s) { return s.kind == "tofu"; }))
    UNL_USAGE_ERROR("--retain-eval needs a tofu task (forget quality compares its truth ratios)",
                    "add --tasks tofu=FORGET.jsonl, or drop --retain-eval");
  if (!(a.eval.min_k > 0 && a.eval.min_k <= 1)) UNL_USAGE_ERROR("--min-k must be in (0, 1]", "e.g. --min-k 0.4 (open-unlearning's default)");
  if (a.eval.max_length < 2 || a.eval.ppl_window < 2 || a.eval.batch_size < 1 || a.eval.answer_tokens < 1)
    UNL_USAGE_ERROR("--max-length and --ppl-window must be >= 2, --batch-size and --answer-tokens >= 1", "see unlearn eval --help");
  const auto device = select_device("auto", local_rank_of(comm));
  auto loaded = model::load_pretrained(a.model, torch::kFloat32, device);
  auto tok = load_tokenizer(a.tokenizer, a.model);
  std::optional<model::LoadedModel> ref;
  if (!a.reference.empty()) {
    ref = model::load_pretrained(a.reference, torch::kFloat32, device);
    UNL_CHECK(ref->config.vocab_size == loaded.config.vocab_size,
              "--reference has vocabulary size " + std::to_string(ref->config.vocab_size) + ", the model " +
                  std::to_string(loaded.config.vocab_size),
              "the reference model must share the model's tokenizer");
  }
  eval::TaskOptions to;
  to.max_length = std::min<int64_t>(a.eval.max_length, loaded.config.max_position_embeddings);
  to.ppl_window = std::min<int64_t>(a.eval.ppl_window, loaded.config.max_position_embeddings);
  if (a.retain_auc >= 0) to.retain_auc = a.retain_auc;
  eval::RunnerOptions ro;
  ro.batch_size = a.eval.batch_size;
  ro.min_k = a.eval.min_k;
  ro.pad_token_id = loaded.config.pad_token_id >= 0 ? loaded.config.pad_token_id : std::max<int64_t>(loaded.config.eos_token_id, 0);
  ro.eos_token_id = tok.eos_id();
  ro.max_new_tokens = to.reply_tokens;
  to.answer_tokens = a.eval.answer_tokens;
  to.retain_eval = a.eval.retain_eval;
  const auto encode = qa_encoder(a.data, tok);
  const bool clean = tok.clean_up_tokenization_spaces();
  const eval::DecodeFn decode = [&tok, clean](const std::vector<int64_t>& ids) { return tok.decode(ids, true, clean); };
  std::vector<std::unique_ptr<eval::Task>> tasks;
  for (const auto& s : specs) {
    if (s.kind.rfind("tofu", 0) == 0) {
      tasks.push_back(eval::make_tofu_task(s, encode, decode, to));
      continue;
    }
    if (s.kind != "mia") {
      tasks.push_back(eval::make_file_task(s, tok, to));
      continue;
    }
    if (a.forget.empty() || a.heldout.empty())
      UNL_USAGE_ERROR("--tasks mia needs --forget and --heldout", "pass the forget set and a held-out set the model never saw");
    const int64_t max_tokens = std::min<int64_t>(a.data.max_tokens, loaded.config.max_position_embeddings);
    auto forget = load_token_set_path(a.forget, tok, loaded.config.vocab_size, max_tokens);
    auto held = load_token_set_path(a.heldout, tok, loaded.config.vocab_size, max_tokens);
    tasks.push_back(eval::make_mia_task(s.name, forget.tokens, held.tokens, tok, to));
  }
  auto results = evaluate_tasks(comm, *loaded.model, ref ? ref->model.get() : nullptr, tasks, ro);
  if (comm.rank() != 0) return 0;
  const std::string out = a.out.empty() ? "eval.json" : a.out;
  write_text_file(out, eval::results_json(results).dump(2) + "\n");
  write_text_file(samples_path_for(out), eval::results_jsonl(results));
  for (const auto& r : results) fmt::print("{:<28} {:.6g}\n", r.name, r.agg_value);
  fmt::print("wrote {} and {}\n", out, samples_path_for(out));
  return 0;
}

}  // namespace unl::driver
