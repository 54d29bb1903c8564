// JobState <-> checkpoint mapping and resume validation. Per-sample vectors and history become
// 1-D tensors under samples/ and history/; non-integer scalars are 0-d float64 tensors under
// scalars/; input fingerprints are strings under inputs/.
#include "driver/state_io.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/common.h"
#include "common/hash.h"
#include "driver/inputs.h"

namespace unl::driver {
namespace {

torch::Tensor i64(const std::vector<int64_t>& v) {
  return torch::tensor(v.empty() ? std::vector<int64_t>{} : v, torch::kInt64).clone();
}
std::vector<int64_t> to_i64(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}
torch::Tensor f64(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).clone(); }
std::vector<double> to_f64(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void put_metrics(checkpoint::State& st, const std::string& prefix, const std::vector<unlearn::SampleMetrics>& m) {
  std::vector<double> ma, el, bleu, bertscore, loss;
  std::vector<int64_t> ids, tokens;
  for (const auto& x : m) {
    ids.push_back(x.id);
    ma.push_back(x.ma);
    el.push_back(x.el);
    bleu.push_back(x.bleu);
    bertscore.push_back(x.bertscore);
    loss.push_back(x.loss);
    tokens.push_back(x.tokens);
  }
  st.tensors[prefix + "/id"] = i64(ids);
  st.tensors[prefix + "/ma"] = f64(ma);
  st.tensors[prefix + "/el"] = f64(el);
  st.tensors[prefix + "/bleu"] = f64(bleu);
  st.tensors[prefix + "/bertscore"] = f64(bertscore);
  st.tensors[prefix + "/loss"] = f64(loss);
  st.tensors[prefix + "/tokens"] = i64(tokens);
}

std::vector<unlearn::SampleMetrics> get_metrics(const checkpoint::State& st, const std::string& prefix) {
  auto ids = to_i64(st.tensors.at(prefix + "/id"));
  auto ma = to_f64(st.tensors.at(prefix + "/ma"));
  auto el = to_f64(st.tensors.at(prefix + "/el"));
  auto bleu = to_f64(st.tensors.at(prefix + "/bleu"));
  auto loss = to_f64(st.tensors.at(prefix + "/loss"));
  auto tokens = to_i64(st.tensors.at(prefix + "/tokens"));
  // BERTScore was added after format version 1 was first written: older checkpoints lack it.
  const auto bs = st.tensors.count(prefix + "/bertscore") ? to_f64(st.tensors.at(prefix + "/bertscore"))
                                                          : std::vector<double>(ids.size(), -1.0);
  std::vector<unlearn::SampleMetrics> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    out[i].id = ids[i];
    out[i].ma = ma[i];
    out[i].el = el[i];
    out[i].bleu = bleu[i];
    out[i].bertscore = bs[i];
    out[i].loss = loss[i];
    out[i].tokens = tokens[i];
  }
  return out;
}

void put_history(checkpoint::State& st, const std::vector<EpochRecord>& history) {
  std::vector<int64_t> h_epoch, h_before, h_after, h_steps;
  std::vector<double> h_ma, h_el, h_bleu, h_ppl, h_wall;
  for (const auto& r : history) {
    h_epoch.push_back(r.epoch);
    h_before.push_back(r.active_before);
    h_after.push_back(r.active_after);
    h_steps.push_back(r.steps);
    h_ma.push_back(r.mean_ma);
    h_el.push_back(r.mean_el);
    h_bleu.push_back(r.mean_bleu);
    h_ppl.push_back(r.heldout_ppl);
    h_wall.push_back(r.wall_s);
  }
  st.tensors["history/epoch"] = i64(h_epoch);
  st.tensors["history/active_before"] = i64(h_before);
  st.tensors["history/active_after"] = i64(h_after);
  st.tensors["history/steps"] = i64(h_steps);
  st.tensors["history/mean_ma"] = f64(h_ma);
  st.tensors["history/mean_el"] = f64(h_el);
  st.tensors["history/mean_bleu"] = f64(h_bleu);
  st.tensors["history/heldout_ppl"] = f64(h_ppl);
  st.tensors["history/wall_s"] = f64(h_wall);
}

std::vector<EpochRecord> get_history(const checkpoint::State& st) {
  auto col_i = [&](const char* f) { return to_i64(st.tensors.at(std::string("history/") + f)); };
  auto col_f = [&](const char* f) { return to_f64(st.tensors.at(std::string("history/") + f)); };
  auto epoch = col_i("epoch"), before = col_i("active_before"), after = col_i("active_after"), steps = col_i("steps");
  auto ma = col_f("mean_ma"), el = col_f("mean_el"), bleu = col_f("mean_bleu"), ppl = col_f("heldout_ppl"),
       wall = col_f("wall_s");
  std::vector<EpochRecord> out;
  for (size_t i = 0; i < epoch.size(); ++i)
    out.push_back({epoch[i], before[i], after[i], ma[i], el[i], bleu[i], ppl[i], wall[i], steps[i]});
  return out;
}

}  // namespace

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    UNL_CHECK(out.good(), "cannot write '" + tmp + "'", "check that the directory is writable and the disk not full");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  UNL_CHECK(!ec, "cannot rename '" + tmp + "' to '" + path + "': " + ec.message(), "check the directory");
}

ResumeContext make_resume_context(const JobConfig& cfg, const std::vector<int64_t>& forget_ids, int64_t pool_size,
                                  bool needs_neighbours, model::CausalLMImpl& model) {
  ResumeContext ctx;
  ctx.cfg = &cfg;
  ctx.forget_ids = forget_ids;
  ctx.pool_size = pool_size;
  ctx.needs_neighbours = needs_neighbours;
  for (auto& [name, p] : model::hf_state_dict(model)) {
    ctx.model_tensors.emplace_back(name, p.sizes().vec());
    if (p.requires_grad()) ctx.params.emplace_back(name, p.sizes().vec());
  }
  ctx.input_hashes["model.path"] = model_dir_fingerprint(cfg.model.path);
  for (const auto& [key, path] : {std::pair{"data.forget", cfg.data.forget}, std::pair{"data.retain", cfg.data.retain},
                                  std::pair{"data.heldout", cfg.data.heldout},
                                  std::pair{"neighbours.index", cfg.neighbours.index}})
    if (!path.empty()) ctx.input_hashes[key] = hex64(hash_file(path));
  return ctx;
}

checkpoint::State to_checkpoint(const JobState& s, model::CausalLMImpl& model, const OptimizerSnapshot& optim,
                                const JobConfig& cfg, int world_size, const ResumeContext& ctx) {
  checkpoint::State st;
  torch::NoGradGuard ng;
  for (auto& [name, p] : model::hf_state_dict(model)) st.tensors["model/" + name] = p.detach().to(torch::kCPU);
  for (const auto& [name, m] : optim.masters) st.tensors["master/" + name] = m.detach().to(torch::kCPU);
  for (auto& [name, t] : optim.state) st.tensors["optim/" + name] = t.detach().to(torch::kCPU);
  st.ints["optim_steps"] = optim.steps;
  st.ints["epoch"] = s.epoch;
  st.ints["batch_in_epoch"] = s.batch_in_epoch;
  st.ints["step"] = s.step;
  st.ints["sessions"] = s.sessions;
  st.ints["world_size"] = world_size;
  st.ints["seed"] = cfg.train.seed;
  st.strings["config_toml"] = cfg.to_toml();
  st.strings["config_resume_hash"] = cfg.resume_hash();
  st.strings["model_family"] = model::family_name(model.config().family);
  st.strings["stop_reason"] = s.stop_reason;
  for (const auto& [key, hash] : ctx.input_hashes) st.strings["inputs/" + key] = hash;
  // The only randomness is the epoch permutation, a pure function of (seed, epoch): recording
  // both is the complete RNG state.
  st.strings["rng"] = "splitmix64(seed, epoch)";
  st.tensors["samples/ids"] = i64(s.ids);
  st.tensors["samples/neighbour"] = i64(s.neighbour);
  st.tensors["samples/flags"] = torch::tensor(std::vector<int64_t>(s.flags.begin(), s.flags.end()), torch::kInt64)
                                    .to(torch::kUInt8);
  st.tensors["samples/forgotten_epoch"] = i64(s.forgotten_epoch);
  put_metrics(st, "samples/before", s.before);
  put_metrics(st, "samples/latest", s.latest);
  st.tensors["scalars/wall_s"] = torch::tensor(s.wall_s, torch::kFloat64);
  st.tensors["scalars/heldout_ppl_before"] = torch::tensor(s.heldout_ppl_before, torch::kFloat64);
  st.tensors["scalars/thresholds"] = f64({s.threshold_ma, s.threshold_el, s.threshold_bleu});
  st.ints["examples"] = static_cast<int64_t>(s.examples.size());
  for (size_t i = 0; i < s.examples.size(); ++i) {
    const auto& e = s.examples[i];
    const std::string k = "example" + std::to_string(i) + "/";
    st.ints[k + "id"] = e.id;
    st.strings[k + "prompt"] = e.prompt;
    st.strings[k + "reference"] = e.reference;
    st.strings[k + "before"] = e.before;
    st.strings[k + "after"] = e.after;
  }
  put_history(st, s.history);
  return st;
}

void from_checkpoint(const checkpoint::State& st, const ResumeContext& ctx, model::CausalLMImpl& model,
                     Trainer& trainer, JobState& s, const std::string& path) {
  validate_checkpoint(st, ctx, path);
  torch::NoGradGuard ng;
  // The most precise copy of a weight: its fp32 master when the checkpoint has one.
  auto weight = [&](const std::string& name) -> const torch::Tensor& {
    auto it = st.tensors.find("master/" + name);
    return it != st.tensors.end() ? it->second : st.tensors.at("model/" + name);
  };
  unlearn::NamedTensors optim;
  for (const auto& [name, t] : st.tensors)
    if (name.rfind("optim/", 0) == 0) optim.emplace_back(name.substr(6), t);
  trainer.load_optimizer(weight, optim, st.ints.at("optim_steps"));
  for (auto& [name, p] : model::hf_state_dict(model)) p.copy_(weight(name));
  s.epoch = st.ints.at("epoch");
  s.batch_in_epoch = st.ints.at("batch_in_epoch");
  s.step = st.ints.at("step");
  s.sessions = st.ints.count("sessions") ? st.ints.at("sessions") : 1;
  s.stop_reason = st.strings.count("stop_reason") ? st.strings.at("stop_reason") : "";
  s.ids = to_i64(st.tensors.at("samples/ids"));
  s.neighbour = to_i64(st.tensors.at("samples/neighbour"));
  auto flags = to_i64(st.tensors.at("samples/flags"));
  s.flags.assign(flags.begin(), flags.end());
  s.forgotten_epoch = to_i64(st.tensors.at("samples/forgotten_epoch"));
  s.before = get_metrics(st, "samples/before");
  s.latest = get_metrics(st, "samples/latest");
  s.wall_s = st.tensors.at("scalars/wall_s").item<double>();
  s.heldout_ppl_before = st.tensors.at("scalars/heldout_ppl_before").item<double>();
  auto th = to_f64(st.tensors.at("scalars/thresholds"));
  s.threshold_ma = th[0];
  s.threshold_el = th[1];
  s.threshold_bleu = th[2];
  s.examples.clear();
  const int64_t n_examples = st.ints.count("examples") ? st.ints.at("examples") : 0;
  for (int64_t i = 0; i < n_examples; ++i) {
    const std::string k = "example" + std::to_string(i) + "/";
    s.examples.push_back({st.ints.at(k + "id"), st.strings.at(k + "prompt"), st.strings.at(k + "reference"),
                          st.strings.at(k + "before"), st.strings.at(k + "after")});
  }
  s.history = get_history(st);
}

}  // namespace unl::driver
