// eval.tasks in the run loop: set-up, schedule, and one sharded evaluation per due epoch.
#include "driver/eval_epoch.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "common/common.h"
#include "driver/eval_tasks.h"
#include "driver/inputs.h"

namespace unl::driver {
namespace fs = std::filesystem;

void set_up_eval_tasks(Job& job) {
  const auto& e = job.cfg.eval;
  if (e.tasks.empty()) return;
  eval::TaskOptions to;
  const int64_t positions = job.models.model->config().max_position_embeddings;
  to.max_length = std::min<int64_t>(e.max_length, positions);
  to.ppl_window = std::min<int64_t>(e.ppl_window, positions);
  auto& ro = job.policy.task_runner;
  ro.batch_size = e.batch_size;
  ro.min_k = e.min_k;
  ro.pad_token_id = job.models.pad_id;
  ro.eos_token_id = job.in.tokenizer->eos_id();
  ro.max_new_tokens = to.reply_tokens;
  to.answer_tokens = e.answer_tokens;
  to.retain_eval = e.retain_eval;  // resolved against the config's directory by the loader (kPath)
  const auto& tok = *job.in.tokenizer;
  const bool clean = tok.clean_up_tokenization_spaces();
  const eval::DecodeFn decode = [&tok, clean](const std::vector<int64_t>& ids) { return tok.decode(ids, true, clean); };
  for (auto spec : eval::parse_task_list(e.tasks)) {
    if (spec.kind == "mia") {
      job.policy.tasks.push_back(eval::make_mia_task(spec.name, job.in.forget.tokens, job.in.heldout.tokens, *job.in.tokenizer, to));
      continue;
    }
    if (!job.cfg.base_dir.empty() && !fs::path(spec.path).is_absolute())
      spec.path = (fs::path(job.cfg.base_dir) / spec.path).lexically_normal().string();
    if (spec.kind.rfind("tofu", 0) == 0)  // questions rendered as the run's qa data are
      job.policy.tasks.push_back(eval::make_tofu_task(spec, qa_encoder(job.cfg.data, tok), decode, to));
    else
      job.policy.tasks.push_back(eval::make_file_task(spec, tok, to));
  }
}

bool eval_tasks_due(const JobConfig& cfg, int64_t epoch, bool stopping) {
  if (cfg.eval.tasks.empty()) return false;
  if (stopping || epoch == 0) return true;
  return cfg.eval.every_epochs > 0 && epoch % cfg.eval.every_epochs == 0;
}

void run_eval_tasks(Job& job) {
  if (job.policy.tasks.empty()) return;
  const double t0 = now_s();
  // No reference-ratio score here: the run's frozen model is the original, not an MIA reference.
  auto results = evaluate_tasks(job.comm, *job.models.model, nullptr, job.policy.tasks, job.policy.task_runner);
  if (!job.root()) return;
  nlohmann::json metrics = nlohmann::json::object();
  std::string line;
  for (const auto& r : results) {
    metrics[r.name] = std::isfinite(r.agg_value) ? nlohmann::json(r.agg_value) : nlohmann::json(nullptr);
    line += fmt::format(" {} {:.4g}", r.name, r.agg_value);
  }
  job.out.log.write({{"type", "eval_tasks"}, {"epoch", job.state.epoch}, {"metrics", metrics}, {"wall_s", now_s() - t0}});
  const std::string out = (fs::path(job.out.dir) / "eval.json").string();
  write_text_file(out, eval::results_json(results).dump(2) + "\n");
  write_text_file(samples_path_for(out), eval::results_jsonl(results));
  log::info("eval tasks after epoch {}:{}", job.state.epoch, line);
}

}  // namespace unl::driver
