// JobState <-> checkpoint mapping. Per-sample vectors and history become 1-D tensors under
// samples/ and history/; scalars that are not integers become 0-d float64 tensors under scalars/.
#include "driver/state_io.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/hash.h"

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
  std::vector<double> ma, el, bleu, loss;
  std::vector<int64_t> ids, tokens;
  for (const auto& x : m) {
    ids.push_back(x.id);
    ma.push_back(x.ma);
    el.push_back(x.el);
    bleu.push_back(x.bleu);
    loss.push_back(x.loss);
    tokens.push_back(x.tokens);
  }
  st.tensors[prefix + "/id"] = i64(ids);
  st.tensors[prefix + "/ma"] = f64(ma);
  st.tensors[prefix + "/el"] = f64(el);
  st.tensors[prefix + "/bleu"] = f64(bleu);
  st.tensors[prefix + "/loss"] = f64(loss);
  st.tensors[prefix + "/tokens"] = i64(tokens);
}

const torch::Tensor& need(const checkpoint::State& st, const std::string& name, const std::string& path) {
  auto it = st.tensors.find(name);
  UNL_CHECK(it != st.tensors.end(), "checkpoint '" + path + "' has no dataset '" + name + "'",
            "it was not written by this version of unlearn; start with --fresh or pass an older --resume");
  return it->second;
}

std::vector<unlearn::SampleMetrics> get_metrics(const checkpoint::State& st, const std::string& prefix,
                                                const std::string& path) {
  auto ids = to_i64(need(st, prefix + "/id", path));
  auto ma = to_f64(need(st, prefix + "/ma", path));
  auto el = to_f64(need(st, prefix + "/el", path));
  auto bleu = to_f64(need(st, prefix + "/bleu", path));
  auto loss = to_f64(need(st, prefix + "/loss", path));
  auto tokens = to_i64(need(st, prefix + "/tokens", path));
  std::vector<unlearn::SampleMetrics> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) out[i] = {ids[i], ma[i], el[i], bleu[i], loss[i], tokens[i]};
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

checkpoint::State to_checkpoint(const JobState& s, model::CausalLMImpl& model, const unlearn::Adam& adam,
                                const JobConfig& cfg, int world_size) {
  checkpoint::State st;
  torch::NoGradGuard ng;
  for (auto& [name, p] : model::hf_state_dict(model)) st.tensors["model/" + name] = p.detach().to(torch::kCPU);
  for (auto& [name, t] : adam.state()) st.tensors["optim/" + name] = t.detach().to(torch::kCPU);
  st.ints["optim_steps"] = adam.steps();
  st.ints["epoch"] = s.epoch;
  st.ints["batch_in_epoch"] = s.batch_in_epoch;
  st.ints["step"] = s.step;
  st.ints["sessions"] = s.sessions;
  st.ints["world_size"] = world_size;
  st.ints["seed"] = cfg.get_int("train.seed");
  st.strings["config_toml"] = cfg.to_toml();
  st.strings["config_resume_hash"] = cfg.resume_hash();
  st.strings["model_family"] = model::family_name(model.config().family);
  st.strings["stop_reason"] = s.stop_reason;
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
  st.tensors["scalars/thresholds"] =
      f64({s.threshold_ma, s.threshold_el, s.threshold_bleu});
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
  std::vector<int64_t> h_epoch, h_before, h_after, h_steps;
  std::vector<double> h_ma, h_el, h_bleu, h_ppl, h_wall;
  for (const auto& r : s.history) {
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
  return st;
}

void from_checkpoint(const checkpoint::State& st, const JobConfig& cfg, model::CausalLMImpl& model,
                     unlearn::Adam& adam, JobState& s, const std::string& path) {
  // Config compatibility first: the clearest message for the commonest mistake.
  auto cfg_it = st.strings.find("config_toml");
  UNL_CHECK(cfg_it != st.strings.end(), "checkpoint '" + path + "' records no configuration",
            "it was not written by unlearn run; pass another --resume or --fresh");
  const JobConfig saved = JobConfig::from_toml(cfg_it->second, path + ":config_toml");
  const auto conflicts = cfg.resume_conflicts(saved);
  if (!conflicts.empty()) {
    std::string list;
    for (const auto& c : conflicts) list += "\n  " + c;
    UNL_USAGE_ERROR("cannot resume from '" + path + "': the configuration changed in ways that make it a different run:" + list,
                    "restore those keys, or start over with --fresh (or a new output.dir)");
  }
  // Weights: every parameter present with the right shape, nothing extra.
  torch::NoGradGuard ng;
  auto params = model::hf_state_dict(model);
  size_t model_tensors = 0;
  for (const auto& [name, t] : st.tensors)
    if (name.rfind("model/", 0) == 0) ++model_tensors;
  UNL_CHECK(model_tensors == params.size(),
            "checkpoint '" + path + "' holds " + std::to_string(model_tensors) + " model tensors, the model has " +
                std::to_string(params.size()),
            "the checkpoint belongs to another model; point model.path at the right one or use --fresh");
  for (auto& [name, p] : params) {
    const auto& t = need(st, "model/" + name, path);
    UNL_CHECK(t.sizes() == p.sizes(),
              "checkpoint tensor 'model/" + name + "' has shape " + c10::str(t.sizes()) + ", the model needs " +
                  c10::str(p.sizes()),
              "the checkpoint belongs to another model; point model.path at the right one or use --fresh");
    p.copy_(t);
  }
  std::vector<std::pair<std::string, torch::Tensor>> optim;
  for (const auto& [name, t] : st.tensors)
    if (name.rfind("optim/", 0) == 0) optim.emplace_back(name.substr(6), t);
  adam.load_state(optim, st.ints.at("optim_steps"));

  s.epoch = st.ints.at("epoch");
  s.batch_in_epoch = st.ints.at("batch_in_epoch");
  s.step = st.ints.at("step");
  s.sessions = st.ints.count("sessions") ? st.ints.at("sessions") : 1;
  s.stop_reason = st.strings.count("stop_reason") ? st.strings.at("stop_reason") : "";
  s.ids = to_i64(need(st, "samples/ids", path));
  s.neighbour = to_i64(need(st, "samples/neighbour", path));
  auto flags = to_i64(need(st, "samples/flags", path));
  s.flags.assign(flags.begin(), flags.end());
  s.forgotten_epoch = to_i64(need(st, "samples/forgotten_epoch", path));
  s.before = get_metrics(st, "samples/before", path);
  s.latest = get_metrics(st, "samples/latest", path);
  s.wall_s = need(st, "scalars/wall_s", path).item<double>();
  s.heldout_ppl_before = need(st, "scalars/heldout_ppl_before", path).item<double>();
  auto th = to_f64(need(st, "scalars/thresholds", path));
  UNL_CHECK(th.size() == 3, "checkpoint '" + path + "': scalars/thresholds must hold 3 values", "use --fresh");
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
  auto h_epoch = to_i64(need(st, "history/epoch", path));
  auto h_before = to_i64(need(st, "history/active_before", path));
  auto h_after = to_i64(need(st, "history/active_after", path));
  auto h_steps = to_i64(need(st, "history/steps", path));
  auto h_ma = to_f64(need(st, "history/mean_ma", path));
  auto h_el = to_f64(need(st, "history/mean_el", path));
  auto h_bleu = to_f64(need(st, "history/mean_bleu", path));
  auto h_ppl = to_f64(need(st, "history/heldout_ppl", path));
  auto h_wall = to_f64(need(st, "history/wall_s", path));
  s.history.clear();
  for (size_t i = 0; i < h_epoch.size(); ++i)
    s.history.push_back({h_epoch[i], h_before[i], h_after[i], h_ma[i], h_el[i], h_bleu[i], h_ppl[i], h_wall[i], h_steps[i]});
}

}  // namespace unl::driver
