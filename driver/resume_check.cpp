// validate_checkpoint: every field a resume reads is checked here first (presence, shape, length,
// ids, ranges), so from_checkpoint never meets a missing key or an out-of-range index.
#include <algorithm>
#include <cmath>
#include <set>

#include "common/common.h"
#include "driver/state_io.h"

namespace unl::driver {
namespace {

class Checker {
 public:
  Checker(const checkpoint::State& st, const ResumeContext& ctx, const std::string& path)
      : st_(st), ctx_(ctx), path_(path) {}

  [[noreturn]] void damaged(const std::string& field, const std::string& problem) const {
    throw CheckpointDamaged("checkpoint '" + path_ + "' is damaged: " + field + " " + problem,
                            "an older checkpoint is used when one is good; otherwise start over with --fresh",
                            __FILE__, __LINE__);
  }
  [[noreturn]] void mismatch(const std::string& problem, const std::string& hint) const {
    throw CheckpointMismatch("cannot resume from '" + path_ + "': " + problem, hint, __FILE__, __LINE__);
  }

  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    auto it = st_.ints.find(key);
    if (it == st_.ints.end()) damaged("'" + key + "'", "is missing");
    if (it->second < lo || it->second > hi)
      damaged("'" + key + "'", "is " + std::to_string(it->second) + ", outside [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "]");
    return it->second;
  }
  const std::string& string(const std::string& key) const {
    auto it = st_.strings.find(key);
    if (it == st_.strings.end()) damaged("'" + key + "'", "is missing");
    return it->second;
  }
  // A 1-D tensor of `n` elements (n < 0: any length); returns it as doubles for range checks.
  std::vector<double> vector(const std::string& key, int64_t n) const {
    auto it = st_.tensors.find(key);
    if (it == st_.tensors.end()) damaged("'" + key + "'", "is missing");
    const auto& t = it->second;
    if (t.dim() != 1) damaged("'" + key + "'", "has " + std::to_string(t.dim()) + " dimensions, not 1");
    if (n >= 0 && t.numel() != n)
      damaged("'" + key + "'", "has " + std::to_string(t.numel()) + " entries, the job has " + std::to_string(n));
    auto c = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }
  double scalar(const std::string& key) const {
    auto it = st_.tensors.find(key);
    if (it == st_.tensors.end()) damaged("'" + key + "'", "is missing");
    if (it->second.numel() != 1) damaged("'" + key + "'", "must hold one value");
    return it->second.to(torch::kFloat64).item<double>();
  }
  void each_in(const std::string& key, const std::vector<double>& v, double lo, double hi) const {
    for (size_t i = 0; i < v.size(); ++i)
      if (!(v[i] >= lo && v[i] <= hi))
        damaged("'" + key + "'", "entry " + std::to_string(i) + " is " + std::to_string(v[i]) + ", outside [" +
                                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  void tensor_shape(const std::string& key, const std::vector<int64_t>& shape, bool job_defines_it) const {
    auto it = st_.tensors.find(key);
    if (it == st_.tensors.end()) damaged("'" + key + "'", "is missing");
    if (it->second.sizes().vec() == shape) return;
    const std::string what = "'" + key + "' has shape " + c10::str(it->second.sizes()) + ", the model needs " +
                             c10::str(c10::IntArrayRef(shape));
    if (job_defines_it)
      mismatch(what, "the checkpoint belongs to another model; point model.path at the right one or use --fresh");
    damaged(what, "");
  }

  const checkpoint::State& st_;
  const ResumeContext& ctx_;
  const std::string& path_;
};

void check_config_and_inputs(const Checker& c) {
  const JobConfig saved = [&] {
    try {
      return JobConfig::from_toml(c.string("config_toml"), c.path_ + ":config_toml");
    } catch (const UsageError& e) {
      c.damaged("'config_toml'", std::string("does not parse: ") + e.description());
    }
  }();
  const auto conflicts = c.ctx_.cfg->resume_conflicts(saved);
  if (!conflicts.empty()) {
    std::string list;
    for (const auto& x : conflicts) list += "\n  " + x;
    c.mismatch("the configuration changed in ways that make it a different run:" + list,
               "restore those keys, or start over with --fresh (or a new output.dir)");
  }
  for (const auto& [key, now] : c.ctx_.input_hashes) {
    auto it = c.st_.strings.find("inputs/" + key);
    if (it == c.st_.strings.end()) {
      log::warn("checkpoint '{}' records no fingerprint of {} (written by an older unlearn); not checked", c.path_, key);
      continue;
    }
    if (it->second != now)
      c.mismatch(key + " changed since the checkpoint was written (fingerprint " + it->second + " then, " + now +
                     " now)",
                 "resume with the same files, or start over with --fresh (or a new output.dir)");
  }
}

void check_model_and_optimiser(const Checker& c) {
  size_t model_tensors = 0;
  for (const auto& [name, t] : c.st_.tensors)
    if (name.rfind("model/", 0) == 0) ++model_tensors;
  if (model_tensors != c.ctx_.model_tensors.size())
    c.mismatch("it holds " + std::to_string(model_tensors) + " model tensors, the model has " +
                   std::to_string(c.ctx_.model_tensors.size()),
               "the checkpoint belongs to another model; point model.path at the right one or use --fresh");
  for (const auto& [name, shape] : c.ctx_.model_tensors) c.tensor_shape("model/" + name, shape, true);
  std::set<std::string> expected;
  for (const auto& [name, shape] : c.ctx_.params)
    for (const char* prefix : {"optim/exp_avg.", "optim/exp_avg_sq."}) {
      c.tensor_shape(prefix + name, shape, false);
      expected.insert(prefix + name);
    }
  // bf16-mixed checkpoints: an fp32 master for every trainable parameter, or none (fp32 runs).
  std::set<std::string> masters;
  for (const auto& [name, t] : c.st_.tensors)
    if (name.rfind("master/", 0) == 0) masters.insert(name);
  if (!masters.empty())
    for (const auto& [name, shape] : c.ctx_.params) {
      c.tensor_shape("master/" + name, shape, false);
      expected.insert("master/" + name);
    }
  for (const auto& [name, t] : c.st_.tensors)
    if ((name.rfind("optim/", 0) == 0 || name.rfind("master/", 0) == 0) && !expected.count(name))
      c.damaged("'" + name + "'", "matches no trainable parameter");
  c.integer("optim_steps", 0, INT64_MAX / 2);
}

void check_samples(const Checker& c, int64_t epoch) {
  const auto& ids = c.ctx_.forget_ids;
  const int64_t n = static_cast<int64_t>(ids.size());
  const auto saved_ids = c.vector("samples/ids", -1);
  if (static_cast<int64_t>(saved_ids.size()) != n ||
      !std::equal(ids.begin(), ids.end(), saved_ids.begin(), [](int64_t a, double b) { return a == b; }))
    c.mismatch("the forget set '" + c.ctx_.cfg->data.forget + "' no longer matches the checkpoint (" +
                   std::to_string(saved_ids.size()) + " samples then, " + std::to_string(n) + " now)",
               "resume with the same data, or start over with --fresh");
  const double lowest_neighbour = c.ctx_.needs_neighbours ? 0 : -1;
  c.each_in("samples/neighbour", c.vector("samples/neighbour", n), lowest_neighbour,
            static_cast<double>(c.ctx_.pool_size - 1));
  c.each_in("samples/flags", c.vector("samples/flags", n), 0, 1);
  c.each_in("samples/forgotten_epoch", c.vector("samples/forgotten_epoch", n), -1, static_cast<double>(epoch));
  for (const char* which : {"samples/before", "samples/latest"}) {
    const std::string prefix = which;
    const auto m_ids = c.vector(prefix + "/id", -1);
    const int64_t m = static_cast<int64_t>(m_ids.size());
    if (m != 0 && m != n)
      c.damaged("'" + prefix + "/id'", "has " + std::to_string(m) + " entries, the job has " + std::to_string(n));
    for (const char* f : {"ma", "el", "bleu", "loss", "tokens"}) c.vector(prefix + "/" + f, m);
    if (c.st_.tensors.count(prefix + "/bertscore")) c.vector(prefix + "/bertscore", m);  // absent in older files
    for (int64_t i = 0; i < m; ++i)
      if (m_ids[i] != static_cast<double>(ids[i]))
        c.damaged("'" + prefix + "/id'", "entry " + std::to_string(i) + " is not the forget set's id");
  }
}

void check_history_and_extras(const Checker& c, int64_t epoch) {
  for (const char* f : {"epoch", "active_before", "active_after", "steps", "mean_ma", "mean_el", "mean_bleu",
                        "heldout_ppl", "wall_s"})
    c.vector(std::string("history/") + f, epoch);
  if (!std::isfinite(c.scalar("scalars/wall_s"))) c.damaged("'scalars/wall_s'", "is not finite");
  c.scalar("scalars/heldout_ppl_before");
  c.vector("scalars/thresholds", 3);
  const int64_t examples = c.st_.ints.count("examples") ? c.integer("examples", 0, 1000) : 0;
  for (int64_t i = 0; i < examples; ++i) {
    const std::string k = "example" + std::to_string(i) + "/";
    c.integer(k + "id", INT64_MIN, INT64_MAX);
    for (const char* f : {"prompt", "reference", "before", "after"}) c.string(k + f);
  }
  if (c.st_.ints.count("sessions")) c.integer("sessions", 0, INT64_MAX / 2);
}

}  // namespace

void validate_checkpoint(const checkpoint::State& st, const ResumeContext& ctx, const std::string& path) {
  const Checker c(st, ctx, path);
  check_config_and_inputs(c);
  check_model_and_optimiser(c);
  const int64_t epoch = c.integer("epoch", 0, INT64_MAX / 2);
  c.integer("step", 0, INT64_MAX / 2);
  c.integer("batch_in_epoch", 0, INT64_MAX / 2);
  check_samples(c, epoch);
  check_history_and_extras(c, epoch);
}

}  // namespace unl::driver
