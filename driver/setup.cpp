// Set-up: runtime, outputs, inputs, models, policy and trainer, in that order.
#include "driver/setup.h"

#include <filesystem>

#include "common/common.h"
#include "driver/eval_epoch.h"
#include "driver/signals.h"
#include "driver/state_io.h"

namespace unl::driver {
namespace fs = std::filesystem;
namespace {

void set_up_runtime(Job& job) {
  install_stop_handlers();
  log::set_level(log::parse_level(job.cfg.output.log_level));
  if (job.cfg.runtime.threads > 0) torch::set_num_threads(static_cast<int>(job.cfg.runtime.threads));
  job.models.device = select_device(job.cfg.runtime.device, local_rank_of(job.comm));
}

void set_up_outputs(Job& job) {
  job.out.dir = job.cfg.output.dir;
  if (job.root()) {
    std::error_code ec;
    fs::create_directories(fs::path(job.out.dir) / "checkpoints", ec);
    UNL_CHECK(!ec, "cannot create output directory '" + job.out.dir + "': " + ec.message(),
              "choose a writable output.dir");
    write_text_file((fs::path(job.out.dir) / "config.resolved.toml").string(), job.cfg.to_toml());
    log::info("unlearn {} | {} rank(s), backend {}, device {} | resolved configuration:\n{}", UNL_VERSION,
              job.comm.size(), job.comm.backend(), job.models.device.str(), job.cfg.to_toml());
  }
  job.out.checkpoints = std::make_unique<checkpoint::Directory>((fs::path(job.out.dir) / "checkpoints").string(),
                                                                static_cast<int>(job.cfg.checkpoint.keep_last));
}

// Whether every floating-point tensor of the model directory is stored as bfloat16 (headers only).
bool stored_in_bf16(const std::string& dir) {
  const model::SafetensorsModel weights(dir);
  bool any = false;
  for (const auto& name : weights.names()) {
    const std::string& dt = weights.info(name).dtype;
    if (dt == "F32" || dt == "F16" || dt == "F64") return false;
    any = any || dt == "BF16";
  }
  return any;
}

// Tokenizer, model and data sets, identical on every rank.
void load_inputs(Job& job) {
  const JobConfig& cfg = job.cfg;
  // bf16-mixed loads fp32 (bf16 -> fp32 is exact); the Trainer takes the masters, then casts.
  const torch::Dtype dtype = torch::kFloat32;
  job.in.tokenizer = std::make_unique<model::Tokenizer>(load_tokenizer(cfg.model.tokenizer, cfg.model.path));
  auto loaded = model::load_pretrained(cfg.model.path, dtype, job.models.device);
  // After the load, which names a missing or broken model directory with its own clear error.
  job.models.bf16_mixed = resolve_precision(cfg) == "bf16-mixed";
  job.models.model = loaded.model;
  const int64_t vocab = loaded.config.vocab_size;
  job.models.vocab_size = vocab;
  log::info("train.precision = {}{}", job.models.bf16_mixed ? "bf16-mixed" : "fp32",
            cfg.train.precision == "auto" ? " (auto)" : "");
  UNL_CHECK(job.in.tokenizer->vocab_size() <= vocab,
            "the tokenizer has " + std::to_string(job.in.tokenizer->vocab_size()) +
                " tokens but the model's vocabulary is " + std::to_string(vocab),
            "model and tokenizer do not belong together; set model.tokenizer to the model's own tokenizer");
  job.models.pad_id = loaded.config.pad_token_id >= 0 ? loaded.config.pad_token_id : loaded.config.eos_token_id;
  job.in.forget = load_token_set(cfg.data, cfg.data.forget, *job.in.tokenizer, vocab, cfg.data.limit);
  if (!cfg.data.retain.empty()) job.in.pool = load_token_set(cfg.data, cfg.data.retain, *job.in.tokenizer, vocab);
  if (!cfg.data.heldout.empty())
    job.in.heldout = load_token_set(cfg.data, cfg.data.heldout, *job.in.tokenizer, vocab);
  check_inputs_agree(job.comm, cfg, *job.in.tokenizer, {&job.in.forget, &job.in.pool, &job.in.heldout});
  if (cfg.data.format == "qa" || cfg.data.format == "chat")
    log::info("data: {} samples {}; losses and metrics see only response tokens", cfg.data.format,
              uses_chat_template(cfg.data, *job.in.tokenizer) ? "rendered through the tokenizer's chat template"
                                                                : "joined as prompt + data.separator + response");
}

std::unique_ptr<unlearn::Method> make_method_of(const MethodConfig& m) {
  unlearn::MethodWeights weights;
  weights.forget = m.w_forget;
  weights.learn = m.w_learn;
  weights.kl = m.w_kl;
  weights.npo_beta = m.npo_beta;
  return make_job_method(m.name, weights);
}

void set_up_models_and_trainer(Job& job) {
  auto method = make_method_of(job.cfg.method);
  // The frozen original model: KL / NPO reference and the neighbour embedder.
  if (method->needs_reference() || method->needs_neighbours()) {
    job.models.reference = model::clone_causal_lm(*job.models.model);
    // Frozen, so it needs no master: bf16 costs 2 bytes per parameter.
    if (job.models.bf16_mixed) job.models.reference->to(torch::kBFloat16);
    job.models.reference->eval();
    for (auto& p : job.models.reference->parameters()) p.set_requires_grad(false);
  }
  job.models.model->train();
  job.policy.eval =
      make_eval_settings(job.cfg.eval, job.cfg.data, *job.in.tokenizer, job.models.pad_id, job.models.device);
  job.policy.thresholds = make_thresholds(job.cfg);
  job.policy.refinement = unlearn::parse_refinement(job.cfg.thresholds.refinement);
  job.policy.is_finetune = job.cfg.method.name == "finetune";
  TrainerOptions topt;
  topt.optim = job.cfg.optim;
  topt.bucket_mb = job.cfg.runtime.bucket_mb;
  topt.pad_id = job.models.pad_id;
  topt.device = job.models.device;
  topt.deterministic = job.cfg.runtime.deterministic_reductions;
  topt.batch_size = job.cfg.train.batch_size;
  topt.bf16_mixed = job.models.bf16_mixed;
  topt.micro_batch_size = job.cfg.train.micro_batch_size;
  topt.activation_checkpointing = job.cfg.train.activation_checkpointing;
  topt.zero_stage = static_cast<int>(job.cfg.train.zero_stage);
  topt.world = job.comm.size();
  topt.rank = job.comm.rank();
  job.trainer = std::make_unique<Trainer>(*job.models.model, job.models.reference.get(), std::move(method), topt);
}

}  // namespace

std::string resolve_precision(const JobConfig& cfg) {
  if (cfg.train.precision != "auto") return cfg.train.precision;
  return cfg.model.dtype == "bfloat16" || stored_in_bf16(cfg.model.path) ? "bf16-mixed" : "fp32";
}

std::unique_ptr<Job> set_up_job(const JobConfig& cfg, comm::Communicator& comm, RunHooks& hooks) {
  auto job = std::make_unique<Job>(cfg, comm, hooks);
  set_up_runtime(*job);
  set_up_outputs(*job);
  load_inputs(*job);
  set_up_models_and_trainer(*job);
  set_up_eval_tasks(*job);
  job->resume = make_resume_context(cfg, job->in.forget.ids, static_cast<int64_t>(job->in.pool.size()),
                                    job->trainer->method().needs_neighbours(), *job->models.model);
  // Question/answer and chat samples depend on more than their files: the chat template, the
  // separator and the tokenizer decide the tokens and where each prompt ends. The sets' token
  // hashes (prompt lengths included) make a resume with other samples a mismatch.
  if (cfg.data.format == "qa" || cfg.data.format == "chat")
    for (const auto& [key, set] : {std::pair{"data.forget", &job->in.forget}, std::pair{"data.retain", &job->in.pool},
                                   std::pair{"data.heldout", &job->in.heldout}})
      if (set->size()) job->resume.input_hashes[std::string(key) + " (samples)"] = set->hash;
  return job;
}

}  // namespace unl::driver
