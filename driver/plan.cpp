// `unlearn plan`: memory per rank from config.json and safetensors headers. The per-parameter
// bytes are exact for what the trainer allocates; activations are an estimate of what autograd
// keeps for backward (terms in docs/large-models.md).
#include "driver/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "common/error.h"
#include "model/hf_io.h"
#include "model/safetensors.h"
#include "shard/flat_layout.h"

namespace unl::driver {
namespace fs = std::filesystem;
namespace {

std::string gib(double bytes) { return fmt::format("{:.2f}", bytes / double(int64_t{1} << 30)); }

std::string dtype_name(const std::string& st) {
  if (st == "BF16") return "bfloat16";
  if (st == "F16") return "float16";
  if (st == "F32") return "float32";
  if (st == "F64") return "float64";
  return st;
}

bool needs_neighbours(const std::string& m) { return m == "icu" || m == "graddiff"; }
bool needs_reference(const std::string& m) { return m == "icu" || m == "npo"; }

}  // namespace

double parse_bytes(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  size_t end = 0;
  double v = 0;
  try {
    v = std::stod(t, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  const std::string unit = t.substr(end);
  double scale = -1;
  for (const auto& [name, s] : std::vector<std::pair<std::string, double>>{
           {"", 1}, {"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
           {"TiB", 1099511627776.0}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}})
    if (unit == name) scale = s;
  if (end == 0 || scale < 0 || !(v > 0) || !std::isfinite(v))
    UNL_USAGE_ERROR("cannot read a memory size from '" + text + "'",
                    "write a number with a unit, e.g. --device-memory 80GiB (also MiB, TiB, GB, TB)");
  return v * scale;
}



PlanModel plan_model(const std::string& dir) {
  PlanModel m;
  const std::string cfg = (fs::path(dir) / "config.json").string();
  UNL_CHECK(fs::exists(cfg), "'" + dir + "' has no config.json",
            "point --model at a Hugging Face model directory (config.json is enough for a plan)");
  m.config = model::load_hf_config(cfg);
  if (m.config.family == model::Family::kGptNeo && m.config.attention_layers.empty())
    for (int64_t i = 0; i < m.config.num_layers; ++i) m.config.attention_layers.push_back(i % 2 ? "local" : "global");
  m.config.validate();
  m.parameters = count_parameters(m.config);
  const bool has_weights = fs::exists(fs::path(dir) / "model.safetensors") ||
                           fs::exists(fs::path(dir) / "model.safetensors.index.json");
  if (has_weights) {
    const model::SafetensorsModel weights(dir);  // headers only: tensors are never read
    for (const auto& name : weights.names()) {
      const auto dt = weights.info(name).dtype;
      if (dt == "BF16" || dt == "F16" || dt == "F32" || dt == "F64") {
        m.stored_dtype = dtype_name(dt);
        if (dt != "BF16") break;  // any non-bf16 float tensor: not a bf16 checkpoint
      }
    }
  }
  return m;
}

namespace {

// Element count of every parameter tensor the config implies, in hf_state_dict order.
std::vector<int64_t> parameter_numels(const model::ModelConfig& config) {
  std::vector<int64_t> numels;
  for (const auto& [name, shape] : model::implied_parameter_shapes(config)) {
    int64_t k = 1;
    for (int64_t d : shape) k *= d;
    numels.push_back(k);
  }
  return numels;
}

}  // namespace

int64_t count_parameters(const model::ModelConfig& config) {
  const auto numels = parameter_numels(config);
  return std::accumulate(numels.begin(), numels.end(), int64_t{0});
}

namespace {

// Elements of one rank's slice of the flat parameter layout (what a ZeRO stage >= 1 rank keeps).
double slice_elements(const model::ModelConfig& config, int64_t ranks) {
  return static_cast<double>(shard::FlatLayout(parameter_numels(config)).shard_size(static_cast<int>(ranks)));
}

// Elements of comm::GradientBucketer's scratch for tensors of these sizes: its largest bucket of
// two or more tensors (a tensor alone in its bucket is reduced in place).
double largest_bucket(const std::vector<int64_t>& numels, double bucket_elems) {
  double largest = 0, current = 0;
  int members = 0;
  for (int64_t n : numels) {
    if (members > 0 && current + static_cast<double>(n) > bucket_elems) {
      if (members > 1) largest = std::max(largest, current);
      current = 0;
      members = 0;
    }
    current += static_cast<double>(n);
    ++members;
  }
  if (members > 1) largest = std::max(largest, current);
  return largest;
}

}  // namespace

std::vector<PlanRow> plan_rows(const PlanModel& pm, const PlanArgs& a) {
  UNL_CHECK(a.ranks >= 1, "--ranks must be >= 1", "give the number of MPI ranks (GPUs) the job will use");
  UNL_CHECK(a.zero_stage >= 0 && a.zero_stage <= 2, "--zero-stage must be 0, 1 or 2",
            "give the job's train.zero_stage (stage 3 is not available yet)");
  UNL_CHECK(a.batch_size >= 1 && a.seq_len >= 2, "--batch-size must be >= 1 and --seq-len >= 2",
            "use the job's train.batch_size and data.max_tokens");
  const auto& c = pm.config;
  const double P = static_cast<double>(pm.parameters);
  const double h = c.hidden_size, m = c.intermediate_size, heads = c.num_heads, V = c.vocab_size;
  const double kv = c.num_kv_heads, L = c.num_layers, T = a.seq_len;
  const double mlp = c.family == model::Family::kLlama ? h + 4 * m : h + 2 * m;
  const int64_t share = (a.batch_size + a.ranks - 1) / a.ranks;  // samples on the busiest rank
  const double S = a.zero_stage > 0 ? slice_elements(c, a.ranks) : P;  // Adam's elements on a rank
  const auto numels = parameter_numels(c);
  const double largest_tensor = static_cast<double>(*std::max_element(numels.begin(), numels.end()));
  const double bucket_elems = a.bucket_mb * 1048576.0 / 4;  // fp32 gradients
  std::vector<PlanRow> rows;
  for (const std::string precision : {"fp32", "bf16-mixed"}) {
    const bool mixed = precision == "bf16-mixed";
    const double act = mixed ? 2 : 4;  // bytes per activation element
    const std::vector<int64_t> micros = share > 1 ? std::vector<int64_t>{share, 1} : std::vector<int64_t>{1};
    for (const int64_t micro : micros) {
      for (const bool ckpt : {false, true}) {
        PlanRow r;
        r.precision = precision;
        r.micro_batch = micro;
        r.checkpointing = ckpt;
        r.zero_stage = a.zero_stage;
        r.weights = P * (mixed ? 2 : 4);
        r.moments = 8 * S;
        if (a.zero_stage == 0) {
          r.master = mixed ? 4 * P : 0;
          r.grads = mixed ? 6 * P : 4 * P;  // bf16-mixed: bf16 per backward + the fp32 sum
        } else {
          // The fp32 master slice exists in fp32 runs too (the model's weights are gathered into).
          r.master = 4 * S;
          // Stage 1 all-reduces full gradients (bf16-mixed: into fp32 sums) and reads its slice;
          // stage 2 reduce-scatters each backward's gradients into the fp32 slice.
          const double full = a.zero_stage == 1 ? (mixed ? 6 * P : 4 * P) : (mixed ? 2 * P : 4 * P);
          r.grads = full + 4 * S;
        }
        // Step buffers, all fp32: stages 0-1 all-reduce through one scratch bucket; stage 2
        // reduce-scatters ranks x one chunk of the slice; Adam's temporary is one tensor (stage 0)
        // or the whole slice (stage >= 1).
        const double reduce = a.zero_stage < 2 ? largest_bucket(numels, bucket_elems)
                                               : static_cast<double>(a.ranks) * std::min(bucket_elems, S);
        r.buffers = 4 * (reduce + (a.zero_stage == 0 ? largest_tensor : S));
        r.reference = needs_reference(a.method) ? P * (mixed ? 2 : 4) : 0;
        // Rows through the trained model per micro-batch, and through the reference.
        const double train_rows = micro * (needs_neighbours(a.method) ? 2.0 : 1.0);
        const double ref_rows = needs_reference(a.method) ? micro : 0;
        // Kept for backward per token and block: norm/projection inputs and q, k, v (in the
        // compute dtype), the MLP's intermediates, and the T attention probabilities per head
        // (softmax in fp32 plus their compute-dtype copy).
        const double per_token_block = ((5 + 2 * kv / heads) * h + mlp) * act + heads * T * (4 + act);
        const double blocks = ckpt ? train_rows * T * (L * h * act + per_token_block)  // inputs + one block
                                   : train_rows * T * L * per_token_block;
        // fp32 logits of the trained rows and their gradient, the reference's fp32 logits.
        const double logits = (2 * train_rows + ref_rows) * T * V * 4;
        r.activations = blocks + logits;
        rows.push_back(r);
      }
    }
  }
  return rows;
}

std::string plan_report(const PlanModel& pm, const PlanArgs& a) {
  const auto& c = pm.config;
  const double device = a.device_memory.empty() ? 0 : parse_bytes(a.device_memory);
  const int64_t share = (a.batch_size + a.ranks - 1) / a.ranks;
  std::string out = fmt::format(
      "model {}: {} ({:.2f} B parameters; {} layers, hidden {}, {} heads / {} kv heads, MLP {}, vocab {}){}\n",
      a.model, model::family_name(c.family), pm.parameters / 1e9, c.num_layers, c.hidden_size, c.num_heads,
      c.num_kv_heads, c.intermediate_size, c.vocab_size,
      pm.stored_dtype.empty() ? "; no weights (config only)" : "; stored " + pm.stored_dtype);
  out += fmt::format(
      "job: {} rank(s), global batch {} ({} sample(s) on the busiest rank), {} tokens per row, method {}\n", a.ranks,
      a.batch_size, share, a.seq_len, a.method);
  out += fmt::format("per rank, GiB, train.zero_stage = {} ({}){}\n\n", a.zero_stage,
                     a.zero_stage == 0   ? "data parallel: every rank holds the model, its gradients and Adam"
                     : a.zero_stage == 1 ? "master weights and Adam moments: one slice per rank"
                                         : "master weights, Adam moments and reduced gradients: one slice per rank",
                     device > 0 ? fmt::format("; device {} GiB", gib(device)) : "");
  out += fmt::format("{:<11} {:>5} {:>5} {:>8} {:>7} {:>8} {:>7} {:>9} {:>11} {:>7} {:>8}{}\n", "precision", "micro",
                     "ckpt", "weights", "master", "moments", "grads", "reference", "activations", "buffers", "total",
                     device > 0 ? "  fits" : "");
  for (const auto& r : plan_rows(pm, a)) {
    out += fmt::format("{:<11} {:>5} {:>5} {:>8} {:>7} {:>8} {:>7} {:>9} {:>11} {:>7} {:>8}{}\n", r.precision,
                       r.micro_batch, r.checkpointing ? "on" : "off", gib(r.weights), gib(r.master), gib(r.moments),
                       gib(r.grads), gib(r.reference), gib(r.activations), gib(r.buffers), gib(r.total()),
                       device > 0 ? (r.total() <= device ? "  yes" : "  no") : "");
  }
  out += "\nmicro = train.micro_batch_size, ckpt = train.activation_checkpointing. Activations are an estimate\n"
         "(docs/large-models.md); weights, master, moments, gradients, reference and the step's buffers (all-reduce\n"
         "or reduce-scatter scratch, Adam's temporary) are what the trainer allocates.\n";
  return out;
}

int cmd_plan(const PlanArgs& args) {
  std::cout << plan_report(plan_model(args.model), args);
  return 0;
}

}  // namespace unl::driver
