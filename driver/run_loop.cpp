// The run loop. Every rank runs this same code; rank 0 additionally decides (flags, stop rule),
// logs, and writes checkpoints and outputs. Work per step is the epoch plan's share for this rank.
#include "driver/run_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>
#include <unistd.h>

#include <fmt/format.h>

#include "checkpoint/checkpoint.h"
#include "comm/messages.h"
#include "comm/tensor_ops.h"
#include "data/data.h"
#include "common/common.h"
#include "common/hash.h"
#include "driver/evaluation.h"
#include "driver/inputs.h"
#include "driver/job_state.h"
#include "driver/metrics_log.h"
#include "driver/progress.h"
#include "driver/report.h"
#include "driver/signals.h"
#include "driver/state_io.h"
#include "shard/shard.h"
#include "unlearn/adam.h"
#include "unlearn/unlearn.h"

namespace unl::driver {
namespace fs = std::filesystem;
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Job {
  JobConfig cfg;
  comm::Communicator& comm;
  torch::Device device = torch::kCPU;
  std::unique_ptr<model::Tokenizer> tokenizer;
  model::CausalLM model;
  model::CausalLM reference;
  std::unique_ptr<unlearn::Method> method;
  TokenSet forget, pool, heldout;
  JobState state;
  std::unique_ptr<unlearn::Adam> adam;
  std::vector<torch::Tensor> params;
  std::unique_ptr<comm::GradientBucketer> bucketer;
  MetricsLog log;
  std::string out_dir;
  std::unique_ptr<checkpoint::Directory> ckpt_dir;
  bool is_finetune = false;
  int64_t pad_id = 0;
  EvalSettings eval;
  unlearn::Thresholds thresholds;
  unlearn::RefinementMode refinement = unlearn::RefinementMode::kRecompute;
  double session_start = now_s();
  double wall_at_start = 0;

  Job(JobConfig c, comm::Communicator& cm) : cfg(std::move(c)), comm(cm) {}
  bool root() const { return comm.rank() == 0; }
};

// ----- neighbours ---------------------------------------------------------------------------

void mine_neighbours(Job& job) {
  const int64_t n = static_cast<int64_t>(job.forget.size());
  job.state.neighbour.assign(n, -1);
  if (!job.method->needs_neighbours()) return;
  UNL_CHECK(job.pool.size() > 0, "the retained pool '" + job.pool.path + "' is empty",
            "icu and graddiff need neighbour rows; give data.retain a non-empty file");
  const double t0 = now_s();
  const int64_t span_b = job.cfg.get_int("neighbours.span_begin");
  int64_t span_e = job.cfg.get_int("neighbours.span_end");
  if (span_e < 0) span_e = INT64_MAX / 2;
  const int64_t bs = job.cfg.get_int("neighbours.batch_size");
  const auto distance = unlearn::parse_distance(job.cfg.get_string("neighbours.distance"));
  // Every rank embeds the (small) forget set, and its own slice of the (large) pool.
  auto queries = unlearn::embed_sequences(*job.reference, job.forget.tokens, span_b, span_e, bs, job.pad_id);
  auto [pb, pe] = shard::block_range(static_cast<int64_t>(job.pool.size()), job.comm.size(), job.comm.rank());
  std::vector<std::vector<int64_t>> slice(job.pool.tokens.begin() + pb, job.pool.tokens.begin() + pe);
  std::vector<int64_t> slice_ids(pe - pb);
  std::iota(slice_ids.begin(), slice_ids.end(), pb);
  std::vector<unlearn::Candidate> local;
  if (!slice.empty()) {
    auto keys = unlearn::embed_sequences(*job.reference, slice, span_b, span_e, bs, job.pad_id);
    local = unlearn::local_topk(queries, keys, slice_ids, 1, distance);
  }
  std::vector<std::pair<std::pair<int64_t, int64_t>, double>> packed;
  for (const auto& c : local) packed.push_back({{c.query, c.pool_id}, c.distance});
  auto gathered = comm::gather_objects(job.comm, packed);
  std::vector<int64_t> best(n, -1);
  if (job.root()) {
    std::vector<unlearn::Candidate> all;
    for (const auto& part : gathered)
      for (const auto& [qp, d] : part) all.push_back({qp.first, qp.second, d});
    auto merged = unlearn::merge_topk(all, n, 1);
    for (int64_t i = 0; i < n; ++i) best[i] = merged[i].empty() ? -1 : merged[i][0];
  }
  comm::broadcast_object(job.comm, best);
  job.state.neighbour = best;
  log::info("neighbours: paired {} forget samples with their nearest of {} pool rows ({}) in {:.1f} s",
            n, job.pool.size(), job.cfg.get_string("neighbours.distance"), now_s() - t0);
}

// ----- checkpoints --------------------------------------------------------------------------

void write_checkpoint(Job& job, const std::string& why) {
  const double t0 = now_s();
  job.state.wall_s = job.wall_at_start + (now_s() - job.session_start);
  std::string path;
  if (const char* crash = std::getenv("UNL_TEST_CRASH_IN_CHECKPOINT");
      crash && job.root() && std::atoll(crash) == job.state.step) {
    // Fault injection for the resume tests: die like a writer killed mid-file, leaving a
    // truncated temporary checkpoint behind.
    const auto tmp = fs::path(job.out_dir) / "checkpoints" /
                     fmt::format("ckpt-{:010d}.h5.tmp-{}", job.state.step, ::getpid());
    write_text_file(tmp.string(), std::string("\x89HDF\r\n\x1a\n truncated by UNL_TEST_CRASH_IN_CHECKPOINT"));
    std::_Exit(137);
  }
  if (job.root()) {
    auto st = to_checkpoint(job.state, *job.model, *job.adam, job.cfg, job.comm.size());
    path = job.ckpt_dir->commit(st, job.state.step);
  }
  // Everyone waits, so no rank exits before the file is safely renamed into place.
  job.comm.barrier();
  if (job.root()) log::info("checkpoint ({}): {} in {:.1f} s", why, path, now_s() - t0);
}

bool try_resume(Job& job, const RunOptions& options) {
  // Rank 0 finds (and fully verifies) the checkpoint; the others then read the file it names.
  std::string path;
  std::optional<checkpoint::State> loaded;
  if (job.root()) {
    if (!options.resume_path.empty()) {
      path = options.resume_path;
    } else if (!options.fresh) {
      if (auto found = job.ckpt_dir->load_newest_valid()) {
        path = found->first;
        loaded = std::move(found->second);
      }
    }
  }
  comm::broadcast_object(job.comm, path);
  if (path.empty()) return false;
  const checkpoint::State st = loaded ? std::move(*loaded) : checkpoint::read(path);
  from_checkpoint(st, job.cfg, *job.model, *job.adam, job.state, path);
  job.state.sessions += 1;
  job.wall_at_start = job.state.wall_s;
  log::info("resumed from {}: epoch {}, step {}, batch {} of the epoch (written with {} ranks, now {})",
            path, job.state.epoch, job.state.step, job.state.batch_in_epoch,
            st.ints.count("world_size") ? st.ints.at("world_size") : -1, job.comm.size());
  return true;
}

// ----- one optimiser step -------------------------------------------------------------------

struct StepStats {
  std::map<std::string, double> terms;
  double tokens = 0;
  bool finite = true;
};

StepStats train_step(Job& job, const std::vector<int64_t>& local_ids,
                     const std::unordered_map<int64_t, int64_t>& index_of) {
  unlearn::Batch batch;
  std::vector<const std::vector<int64_t>*> f_rows, n_rows;
  for (int64_t id : local_ids) {
    const int64_t i = index_of.at(id);
    f_rows.push_back(&job.forget.tokens[i]);
    if (job.method->needs_neighbours()) n_rows.push_back(&job.pool.tokens[job.state.neighbour[i]]);
  }
  // Right padding: positions come from the mask, so the side only matters for generation.
  // At least one column even for a rank with no rows, so every tensor is well formed.
  auto forget = data::collate(f_rows, job.pad_id, /*left_pad=*/false, /*pad_to=*/1);
  batch.forget_ids = forget.ids.to(job.device);
  batch.forget_mask = forget.mask.to(job.device);
  if (job.method->needs_neighbours()) {
    auto neighbours = data::collate(n_rows, job.pad_id, /*left_pad=*/false, /*pad_to=*/1);
    batch.neighbour_ids = neighbours.ids.to(job.device);
    batch.neighbour_mask = neighbours.mask.to(job.device);
  }
  // Global normalisers first: every rank divides its sums by the same totals.
  auto counts = job.method->count(batch);
  std::vector<double> packed;
  for (const auto& [k, v] : counts) packed.push_back(v);
  if (!packed.empty())
    job.comm.allreduce(packed.data(), packed.size(), comm::DType::kFloat64, comm::ReduceOp::kSum);
  size_t k = 0;
  StepStats stats;
  for (auto& [name, v] : counts) {
    v = packed[k++];
    if (name.find("tokens") != std::string::npos) stats.tokens += v;
  }
  for (auto& p : job.params) p.mutable_grad().zero_();
  unlearn::StepLoss loss;
  if (batch.rows() > 0) loss = job.method->loss(*job.model, job.reference.get(), batch, counts);
  if (const char* nan_at = std::getenv("UNL_TEST_NAN_AT_STEP")) {
    // Fault injection for the e2e tests: on one rank only (the last), and only once per process,
    // the loss of step N turns NaN before backward, so the real cross-rank verdict below runs.
    static bool injected = false;
    if (!injected && job.comm.rank() == job.comm.size() - 1 && std::atoll(nan_at) == job.state.step + 1) {
      injected = true;
      const double nan = std::nan("");
      if (loss.loss.defined()) loss.loss = loss.loss * nan;
      if (loss.terms.empty()) loss.terms["loss"] = 0;
      for (auto& [name, v] : loss.terms) v = nan;
    }
  }
  if (loss.loss.defined()) loss.loss.backward();
  // Sum of local shares = the global-batch mean's gradient, for any world size.
  std::vector<torch::Tensor> grads;
  grads.reserve(job.params.size());
  for (auto& p : job.params) grads.push_back(p.grad());
  job.bucketer->allreduce(job.comm, grads);
  auto gathered = comm::gather_objects(job.comm, loss.terms);
  if (job.root())
    for (const auto& part : gathered)
      for (const auto& [name, v] : part) stats.terms[name] += v;
  bool local_ok = true;
  for (const auto& [name, v] : loss.terms) local_ok = local_ok && std::isfinite(v);
  // One verdict for all ranks: a NaN on one rank alone must stop (or skip) the step everywhere,
  // or the ranks would take different branches and hang in the next collective.
  stats.finite = !job.comm.any(!local_ok);
  return stats;
}

void check_weights_agree(Job& job) {
  torch::NoGradGuard ng;
  Hasher h;
  for (auto& p : job.params) {
    auto c = p.detach().to(torch::kCPU).contiguous();
    h.update(c.data_ptr(), static_cast<size_t>(c.numel() * c.element_size()));
  }
  const uint64_t mine = h.digest();
  auto all = comm::gather_objects(job.comm, mine);
  bool ok = true;
  std::string detail;
  if (job.root()) {
    for (size_t r = 0; r < all.size(); ++r) {
      if (all[r] != all[0]) ok = false;
      detail += " r" + std::to_string(r) + "=" + hex64(all[r]).substr(0, 8);
    }
  }
  comm::broadcast_object(job.comm, ok);
  UNL_CHECK(ok, "weights differ across ranks after step " + std::to_string(job.state.step) + ":" + detail,
            "ranks must apply identical updates; this is a bug in the all-reduce or optimiser path");
  log::debug("step {}: weights identical on all {} ranks", job.state.step, job.comm.size());
}

// ----- the per-epoch check --------------------------------------------------------------------

unlearn::StopReason end_of_epoch(Job& job, int64_t steps_this_epoch, double epoch_start,
                                 int64_t active_before) {
  EpochRecord rec;
  rec.epoch = job.state.epoch;
  rec.active_before = active_before;
  rec.steps = steps_this_epoch;
  if (job.is_finetune) {
    job.state.epoch += 1;
    job.state.batch_in_epoch = 0;
    rec.wall_s = now_s() - epoch_start;
    rec.active_after = active_before;
    job.state.history.push_back(rec);
    log::info("epoch {} done: {} steps in {:.1f} s", job.state.epoch, steps_this_epoch, rec.wall_s);
    const int64_t max_epochs = job.cfg.get_int("train.max_epochs");
    return max_epochs > 0 && job.state.epoch >= max_epochs ? unlearn::StopReason::kMaxEpochs
                                                           : unlearn::StopReason::kContinue;
  }
  auto metrics = evaluate_forget_set(job.comm, *job.model, job.forget, job.eval, job.tokenizer.get());
  const double ppl = job.heldout.size() ? heldout_perplexity(job.comm, *job.model, job.heldout, job.eval) : -1;
  unlearn::StopReason reason = unlearn::StopReason::kContinue;
  job.state.epoch += 1;
  job.state.batch_in_epoch = 0;
  if (job.root()) {
    auto flags = unlearn::update_flags(job.state.flags, metrics, job.thresholds, job.refinement);
    for (size_t i = 0; i < flags.size(); ++i) {
      if (job.state.flags[i] && !flags[i]) job.state.forgotten_epoch[i] = job.state.epoch;
      if (flags[i]) job.state.forgotten_epoch[i] = -1;
    }
    job.state.flags = flags;
    job.state.latest = metrics;
    reason = unlearn::stop_rule(metrics, flags, job.thresholds, job.state.epoch,
                                job.cfg.get_int("train.max_epochs"));
    rec.active_after = std::count(flags.begin(), flags.end(), 1);
    for (const auto& m : metrics) {
      rec.mean_ma += m.ma / metrics.size();
      rec.mean_el += m.el / metrics.size();
      rec.mean_bleu += m.bleu / metrics.size();
    }
    rec.heldout_ppl = ppl;
    rec.wall_s = now_s() - epoch_start;
    job.state.history.push_back(rec);
    for (size_t i = 0; i < metrics.size(); ++i) {
      job.log.write({{"type", "sample"}, {"epoch", job.state.epoch}, {"id", job.state.ids[i]},
                     {"ma", metrics[i].ma}, {"el", metrics[i].el}, {"bleu", metrics[i].bleu},
                     {"loss", metrics[i].loss}, {"active", static_cast<int>(job.state.flags[i])}});
    }
    job.log.write({{"type", "epoch"}, {"epoch", job.state.epoch}, {"active_before", active_before},
                   {"active_after", rec.active_after}, {"mean_ma", rec.mean_ma}, {"mean_el", rec.mean_el},
                   {"mean_bleu", rec.mean_bleu}, {"heldout_ppl", ppl}, {"wall_s", rec.wall_s},
                   {"steps", steps_this_epoch}});
    print_epoch_summary(job.state, job.thresholds, static_cast<int>(job.eval.options.n));
  }
  int code = static_cast<int>(reason);
  comm::broadcast_object(job.comm, code);
  comm::broadcast_object(job.comm, job.state.flags);
  comm::broadcast_object(job.comm, job.state.forgotten_epoch);
  return static_cast<unlearn::StopReason>(code);
}

// For launch scripts (UNLEARN_STATUS_FILE): "done" when the job finished, "interrupted" when it
// checkpointed on a signal or the wall clock and should be requeued.
void write_status(const Job& job, const char* status) {
  const char* path = std::getenv("UNLEARN_STATUS_FILE");
  if (!job.root() || !path || !*path) return;
  write_text_file(path, std::string(status) + "\n");
}

// Greedy continuation of a forget sample's prefix, decoded (for the report's examples).
std::string continuation(Job& job, const std::vector<int64_t>& tokens) {
  const int64_t p = std::min<int64_t>(job.eval.options.prefix_len, static_cast<int64_t>(tokens.size()) - 1);
  torch::NoGradGuard ng;
  const bool was_training = job.model->is_training();
  job.model->eval();
  auto ids = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.begin() + p), torch::kInt64).unsqueeze(0).to(job.device);
  auto mask = torch::ones_like(ids);
  model::GenerateOptions g;
  g.max_new_tokens = job.eval.options.gen_len;
  g.pad_token_id = job.pad_id;
  auto out = model::generate(*job.model, ids, mask, g).to(torch::kCPU).contiguous();
  if (was_training) job.model->train();
  return job.tokenizer->decode(std::vector<int64_t>(out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel()));
}

void record_examples_before(Job& job) {
  if (!job.root()) return;
  const size_t n = std::min<size_t>(3, job.forget.size());
  for (size_t i = 0; i < n; ++i) {
    const auto& t = job.forget.tokens[i];
    const int64_t p = std::min<int64_t>(job.eval.options.prefix_len, static_cast<int64_t>(t.size()) - 1);
    const int64_t e = std::min<int64_t>(p + job.eval.options.gen_len, static_cast<int64_t>(t.size()));
    Example ex;
    ex.id = job.forget.ids[i];
    ex.prompt = job.tokenizer->decode(std::vector<int64_t>(t.begin(), t.begin() + p));
    ex.reference = job.tokenizer->decode(std::vector<int64_t>(t.begin() + p, t.begin() + e));
    ex.before = continuation(job, t);
    job.state.examples.push_back(ex);
  }
}

void finish(Job& job, const std::string& reason) {
  job.state.stop_reason = reason;
  job.state.wall_s = job.wall_at_start + (now_s() - job.session_start);
  const std::string final_dir = (fs::path(job.out_dir) / "final").string();
  if (job.root()) {
    for (auto& ex : job.state.examples) {
      for (size_t i = 0; i < job.forget.size(); ++i)
        if (job.forget.ids[i] == ex.id) ex.after = continuation(job, job.forget.tokens[i]);
    }
    if (job.cfg.get_bool("output.save_final")) {
      const std::string tok_dir = (fs::path(job.out_dir) / ".tokenizer").string();
      job.tokenizer->save(tok_dir);
      model::save_pretrained(*job.model, final_dir, tok_dir);
      fs::remove_all(tok_dir);
      log::info("final model: {} (a Hugging Face directory)", final_dir);
    }
    write_reports(job.out_dir, job.cfg, job.state, job.thresholds, job.forget, job.tokenizer.get(),
                  job.comm.size());
    log::info("report: {}/report.json and {}/report.html", job.out_dir, job.out_dir);
  }
  job.comm.barrier();
  write_status(job, "done");
}

}  // namespace

int run_job(JobConfig cfg, comm::Communicator& comm, const RunOptions& options) {
  cfg.resolve_paths();
  Job job(std::move(cfg), comm);
  install_stop_handlers();
  log::set_level(log::parse_level(job.cfg.get_string("output.log_level")));
  if (job.cfg.get_int("runtime.threads") > 0)
    torch::set_num_threads(static_cast<int>(job.cfg.get_int("runtime.threads")));
  job.device = select_device(job.cfg.get_string("runtime.device"), local_rank_of(comm));
  job.out_dir = job.cfg.get_string("output.dir");
  job.is_finetune = job.cfg.get_string("method.name") == "finetune";
  if (job.root()) {
    std::error_code ec;
    fs::create_directories(fs::path(job.out_dir) / "checkpoints", ec);
    UNL_CHECK(!ec, "cannot create output directory '" + job.out_dir + "': " + ec.message(),
              "choose a writable output.dir");
    write_text_file((fs::path(job.out_dir) / "config.resolved.toml").string(), job.cfg.to_toml());
    log::info("unlearn {} | {} rank(s), backend {}, device {} | resolved configuration:\n{}",
              UNL_VERSION, comm.size(), comm.backend(), job.device.str(), job.cfg.to_toml());
  }
  job.ckpt_dir = std::make_unique<checkpoint::Directory>(
      (fs::path(job.out_dir) / "checkpoints").string(), static_cast<int>(job.cfg.get_int("checkpoint.keep_last")));

  // Inputs, identical on every rank.
  const torch::Dtype dtype = job.cfg.get_string("model.dtype") == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  job.tokenizer = std::make_unique<model::Tokenizer>(load_tokenizer(job.cfg));
  auto loaded = model::load_pretrained(job.cfg.get_string("model.path"), dtype, job.device);
  job.model = loaded.model;
  const int64_t vocab = loaded.config.vocab_size;
  UNL_CHECK(job.tokenizer->vocab_size() <= vocab,
            "the tokenizer has " + std::to_string(job.tokenizer->vocab_size()) + " tokens but the model's vocabulary is " +
                std::to_string(vocab),
            "model and tokenizer do not belong together; set model.tokenizer to the model's own tokenizer");
  job.pad_id = loaded.config.pad_token_id >= 0 ? loaded.config.pad_token_id : loaded.config.eos_token_id;
  job.forget = load_token_set(job.cfg, "data.forget", *job.tokenizer, vocab, job.cfg.get_int("data.limit"));
  if (!job.cfg.get_string("data.retain").empty())
    job.pool = load_token_set(job.cfg, "data.retain", *job.tokenizer, vocab);
  if (!job.cfg.get_string("data.heldout").empty())
    job.heldout = load_token_set(job.cfg, "data.heldout", *job.tokenizer, vocab);
  check_inputs_agree(comm, job.cfg, *job.tokenizer, {&job.forget, &job.pool, &job.heldout});
  unlearn::MethodWeights weights;
  weights.forget = job.cfg.get_float("method.w_forget");
  weights.learn = job.cfg.get_float("method.w_learn");
  weights.kl = job.cfg.get_float("method.w_kl");
  weights.npo_beta = job.cfg.get_float("method.npo_beta");
  job.method = make_job_method(job.cfg.get_string("method.name"), weights);
  // The frozen original model: KL / NPO reference and the neighbour embedder.
  if (job.method->needs_reference() || job.method->needs_neighbours()) {
    job.reference = model::clone_causal_lm(*job.model);
    job.reference->eval();
    for (auto& p : job.reference->parameters()) p.set_requires_grad(false);
  }
  job.model->train();
  job.eval = make_eval_settings(job.cfg, job.pad_id);
  job.thresholds = make_thresholds(job.cfg);
  job.refinement = unlearn::parse_refinement(job.cfg.get_string("thresholds.refinement"));

  // Optimiser and gradient buckets (gradients allocated once, zeroed in place every step).
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (auto& [name, p] : model::hf_state_dict(*job.model)) {
    if (!p.requires_grad()) continue;
    p.mutable_grad() = torch::zeros_like(p);
    named.emplace_back(name, p);
    job.params.push_back(p);
  }
  unlearn::AdamOptions aopt;
  aopt.lr = job.cfg.get_float("optim.lr");
  aopt.beta1 = job.cfg.get_float("optim.beta1");
  aopt.beta2 = job.cfg.get_float("optim.beta2");
  aopt.eps = job.cfg.get_float("optim.eps");
  job.adam = std::make_unique<unlearn::Adam>(named, aopt);
  std::vector<torch::Tensor> grads;
  for (auto& p : job.params) grads.push_back(p.grad());
  job.bucketer = std::make_unique<comm::GradientBucketer>(
      grads, static_cast<int64_t>(job.cfg.get_float("runtime.bucket_mb") * (1 << 20)));

  // Fresh start or resume.
  const bool resumed = try_resume(job, options);
  if (job.root()) job.log = MetricsLog((fs::path(job.out_dir) / "metrics.jsonl").string());
  if (!resumed) {
    job.state.sessions = 1;
    job.state.ids = job.forget.ids;
    job.state.flags.assign(job.forget.size(), 1);
    job.state.forgotten_epoch.assign(job.forget.size(), -1);
    mine_neighbours(job);
    if (!job.is_finetune) {
      log::info("evaluating {} forget samples before unlearning ...", job.forget.size());
      auto before = evaluate_forget_set(comm, *job.model, job.forget, job.eval, job.tokenizer.get());
      if (job.heldout.size()) {
        job.state.heldout_ppl_before = heldout_perplexity(comm, *job.model, job.heldout, job.eval);
        if (job.cfg.get_string("thresholds.mode") == "calibrate") {
          auto held = evaluate_forget_set(comm, *job.model, job.heldout, job.eval, nullptr);
          job.thresholds = unlearn::calibrate_thresholds(held, job.thresholds);
          log::info("thresholds calibrated on the held-out set: MA < {:.4f}, EL{} < {:.4f}",
                    job.thresholds.ma, job.eval.options.n, job.thresholds.el);
        }
      }
      job.state.before = before;
      job.state.latest = before;
      record_examples_before(job);
    }
    job.state.threshold_ma = job.thresholds.ma;
    job.state.threshold_el = job.thresholds.el;
    job.state.threshold_bleu = job.thresholds.bleu;
    if (job.root() && !job.is_finetune) print_before_summary(job.state, job.thresholds, job.eval.options.n);
  } else {
    UNL_CHECK(job.state.ids == job.forget.ids,
              "the forget set '" + job.forget.path + "' no longer matches the checkpoint (" +
                  std::to_string(job.state.ids.size()) + " samples then, " + std::to_string(job.forget.size()) + " now)",
              "resume with the same data, or start over with --fresh");
    job.thresholds.ma = job.state.threshold_ma;
    job.thresholds.el = job.state.threshold_el;
    job.thresholds.bleu = job.state.threshold_bleu;
  }
  if (!job.state.stop_reason.empty()) {
    log::info("this job already finished ({}); nothing to do. Use --fresh to start over.", job.state.stop_reason);
    finish(job, job.state.stop_reason);
    return 0;
  }
  if (!job.is_finetune && job.state.epoch == 0 && job.state.batch_in_epoch == 0) {
    auto reason = unlearn::stop_rule(job.state.before, job.state.flags, job.thresholds, 0, job.cfg.get_int("train.max_epochs"));
    if (reason == unlearn::StopReason::kThresholdsMet) {
      log::info("the forget set is already below the thresholds; nothing to unlearn");
      finish(job, unlearn::stop_reason_name(reason));
      return 0;
    }
  }

  std::unordered_map<int64_t, int64_t> index_of;
  for (size_t i = 0; i < job.forget.ids.size(); ++i) index_of[job.forget.ids[i]] = static_cast<int64_t>(i);
  const int64_t batch_size = job.cfg.get_int("train.batch_size");
  const uint64_t seed = static_cast<uint64_t>(job.cfg.get_int("train.seed"));
  const int64_t every = job.cfg.get_int("checkpoint.every_steps");
  const int64_t check_every = job.cfg.get_int("train.check_weights_every");
  const int64_t max_steps = job.cfg.get_int("train.max_steps");
  Progress progress(job.root());

  while (true) {
    std::vector<shard::SampleRef> active;
    for (size_t i = 0; i < job.forget.size(); ++i)
      if (job.state.flags[i]) active.push_back({job.forget.ids[i], static_cast<int64_t>(job.forget.tokens[i].size())});
    if (active.empty()) {
      finish(job, unlearn::stop_reason_name(unlearn::StopReason::kNoActiveSamples));
      return 0;
    }
    // Leave before the Slurm wall clock runs out: checkpoint when another epoch would not fit.
    const double left = seconds_until_job_end();
    if (left >= 0 && !job.state.history.empty() && job.state.batch_in_epoch == 0) {
      const double epoch_s = job.state.history.back().wall_s;
      if (left < 1.2 * epoch_s + 60) {
        log::info("{:.0f} s left in the Slurm allocation, an epoch takes ~{:.0f} s: checkpointing now", left, epoch_s);
        write_checkpoint(job, "wall clock");
        log::info("resume with the same command in a new allocation");
        write_status(job, "interrupted");
        return 0;
      }
    }
    auto plan = shard::make_plan(active, comm.size(), batch_size, seed, job.state.epoch);
    const double epoch_start = now_s();
    int64_t steps_this_epoch = 0;
    progress.start_epoch(job.state.epoch + 1, plan.num_batches(), job.state.batch_in_epoch);
    for (int64_t b = job.state.batch_in_epoch; b < plan.num_batches(); ++b) {
      const double t0 = now_s();
      auto stats = train_step(job, plan.local(b, comm.rank()), index_of);
      if (!stats.finite) {
        if (job.cfg.get_string("train.nan_policy") == "skip") {
          log::warn("step {}: non-finite loss; step skipped (train.nan_policy = skip)", job.state.step + 1);
          if (job.root())
            job.log.write({{"type", "skipped"}, {"epoch", job.state.epoch + 1}, {"step", job.state.step + 1},
                           {"batch", b}, {"reason", "non-finite loss"}});
          job.state.batch_in_epoch = b + 1;
          continue;
        }
        write_checkpoint(job, "last good state before a non-finite loss");
        UNL_THROW("the loss became NaN/Inf at step " + std::to_string(job.state.step + 1) +
                      " (epoch " + std::to_string(job.state.epoch + 1) + ", batch " + std::to_string(b) + ")",
                  "the last good state is checkpointed; lower optim.lr or method.w_forget, or set "
                  "train.nan_policy = \"skip\", then resume with the same command");
      }
      job.adam->step();
      job.state.step += 1;
      job.state.batch_in_epoch = b + 1;
      steps_this_epoch += 1;
      const double dt = now_s() - t0;
      if (job.root()) {
        nlohmann::json rec = {{"type", "step"}, {"epoch", job.state.epoch + 1}, {"step", job.state.step},
                              {"batch", b}, {"active", static_cast<int64_t>(active.size())},
                              {"tokens", stats.tokens}, {"tokens_per_s", dt > 0 ? stats.tokens / dt : 0.0},
                              {"step_s", dt}};
        for (const auto& [name, v] : stats.terms) rec[name] = v;
        job.log.write(rec);
        progress.step(b + 1, stats.terms, dt > 0 ? stats.tokens / dt : 0.0);
      }
      if (check_every > 0 && job.state.step % check_every == 0) check_weights_agree(job);
      const bool stop_now = comm.any(stop_signal() != 0);
      if (stop_now) {
        write_checkpoint(job, std::string("stop signal"));
        log::info("stopped by a signal after step {}; resume with the same command (it continues from {})",
                  job.state.step, job.out_dir + "/checkpoints");
        write_status(job, "interrupted");
        return 0;
      }
      if (max_steps > 0 && job.state.step >= max_steps) {
        write_checkpoint(job, "train.max_steps reached");
        finish(job, "max_steps");
        return 0;
      }
      if (every > 0 && job.state.step % every == 0 && b + 1 < plan.num_batches())
        write_checkpoint(job, "every " + std::to_string(every) + " steps");
    }
    progress.end_epoch();
    auto reason = end_of_epoch(job, steps_this_epoch, epoch_start, static_cast<int64_t>(active.size()));
    if (reason != unlearn::StopReason::kContinue) {
      job.state.stop_reason = unlearn::stop_reason_name(reason);
      write_checkpoint(job, "end of epoch " + std::to_string(job.state.epoch));
      finish(job, job.state.stop_reason);
      return 0;
    }
    write_checkpoint(job, "end of epoch " + std::to_string(job.state.epoch));
    if (comm.any(stop_signal() != 0)) {
      log::info("stopped by a signal at the end of epoch {}; resume with the same command", job.state.epoch);
      write_status(job, "interrupted");
      return 0;
    }
  }
}

}  // namespace unl::driver
