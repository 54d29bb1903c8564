// Examples, final model, reports and the status file.
#include "driver/finish.h"

#include <cstdlib>
#include <filesystem>

#include "common/common.h"
#include "driver/report.h"
#include "driver/state_io.h"

namespace unl::driver {
namespace fs = std::filesystem;
namespace {

// Where a forget sample's example prompt ends: its prompt (question/answer data), else prefix_len.
int64_t example_prompt_end(const Job& job, size_t i) {
  const auto& t = job.in.forget.tokens[i];
  const int64_t prompt = job.in.forget.prompt_lens[i];
  return prompt > 0 ? prompt : std::min<int64_t>(job.policy.eval.options.prefix_len, static_cast<int64_t>(t.size()) - 1);
}

// Greedy continuation of a forget sample's first p tokens, decoded (for the report's examples).
std::string continuation(Job& job, const std::vector<int64_t>& tokens, int64_t p) {
  const auto& opt = job.policy.eval.options;
  torch::NoGradGuard ng;
  auto& model = *job.models.model;
  const bool was_training = model.is_training();
  model.eval();
  auto ids = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.begin() + p), torch::kInt64)
                 .unsqueeze(0)
                 .to(job.models.device);
  auto mask = torch::ones_like(ids);
  model::GenerateOptions g;
  g.max_new_tokens = opt.gen_len;
  g.pad_token_id = job.models.pad_id;
  auto out = model::generate(model, ids, mask, g).to(torch::kCPU).contiguous();
  if (was_training) model.train();
  return job.in.tokenizer->decode(std::vector<int64_t>(out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel()));
}

}  // namespace

void record_examples_before(Job& job) {
  if (!job.root()) return;
  const auto& opt = job.policy.eval.options;
  const size_t n = std::min<size_t>(3, job.in.forget.size());
  for (size_t i = 0; i < n; ++i) {
    const auto& t = job.in.forget.tokens[i];
    const int64_t p = example_prompt_end(job, i);
    const int64_t e = job.in.forget.prompt_lens[i] > 0 ? static_cast<int64_t>(t.size())
                                                       : std::min<int64_t>(p + opt.gen_len, static_cast<int64_t>(t.size()));
    Example ex;
    ex.id = job.in.forget.ids[i];
    ex.prompt = job.in.tokenizer->decode(std::vector<int64_t>(t.begin(), t.begin() + p));
    ex.reference = job.in.tokenizer->decode(std::vector<int64_t>(t.begin() + p, t.begin() + e));
    ex.before = continuation(job, t, p);
    job.state.examples.push_back(ex);
  }
}

void write_status(const Job& job, const char* status) {
  const char* path = std::getenv("UNLEARN_STATUS_FILE");
  if (!job.root() || !path || !*path) return;
  write_text_file(path, std::string(status) + "\n");
}

void finish(Job& job, const std::string& reason) {
  job.state.stop_reason = reason;
  job.state.wall_s = job.out.wall_s();
  if (job.root()) {
    for (auto& ex : job.state.examples)
      for (size_t i = 0; i < job.in.forget.size(); ++i)
        if (job.in.forget.ids[i] == ex.id) ex.after = continuation(job, job.in.forget.tokens[i], example_prompt_end(job, i));
    if (job.cfg.output.save_final) {
      const std::string final_dir = (fs::path(job.out.dir) / "final").string();
      const std::string tok_dir = (fs::path(job.out.dir) / ".tokenizer").string();
      job.in.tokenizer->save(tok_dir);
      model::save_pretrained(*job.models.model, final_dir, tok_dir);
      fs::remove_all(tok_dir);
      log::info("final model: {} (a Hugging Face directory)", final_dir);
    }
    write_reports(job.out.dir, job.cfg, job.state, job.policy.thresholds, job.in.forget, job.in.tokenizer.get(),
                  job.comm.size());
    log::info("report: {}/report.json and {}/report.html", job.out.dir, job.out.dir);
  }
  job.comm.barrier();
  write_status(job, "done");
}

}  // namespace unl::driver
