// JobConfig implementation: the key table, TOML parsing with toml++, overrides, validation.
#include "driver/job_config.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <toml++/toml.h>

#include "common/error.h"
#include "common/hash.h"

namespace unl::driver {
namespace {

using I = int64_t;

const std::vector<ConfigKey> kKeys = {
    // model
    {"model.path", std::string(""), "Hugging Face model directory (config.json + safetensors). Required.", true},
    {"model.tokenizer", std::string(""), "Tokenizer directory (vocab.json + merges.txt or tokenizer.json); empty: the model directory, else the built-in GPT-2 vocabulary.", true},
    {"model.dtype", std::string("float32"), "Weights dtype while unlearning: float32 or bfloat16.", true},
    // data
    {"data.forget", std::string(""), "Forget set: .jsonl (text field or ids), .npy token array, or .h5. Required.", true},
    {"data.retain", std::string(""), "Retained pool the neighbours are mined from (same formats). Required by icu and graddiff.", true},
    {"data.heldout", std::string(""), "Optional held-out set the model never saw: perplexity before/after and threshold calibration.", true},
    {"data.format", std::string("auto"), "Format of every data file: auto (by extension), jsonl, npy or h5.", true},
    {"data.text_field", std::string("text"), "JSONL field holding the text.", true},
    {"data.h5_dataset", std::string("tokens"), "Dataset name inside .h5 data files.", true},
    {"data.col_begin", I(0), "First token column used from .npy/.h5 arrays.", true},
    {"data.col_end", I(-1), "One past the last token column (-1: all).", true},
    {"data.max_tokens", I(200), "Truncate every sequence to this many tokens.", true},
    {"data.limit", I(-1), "Use only the first N forget samples (-1: all).", true},
    // method
    {"method.name", std::string("icu"), "icu, ga (gradient ascent), graddiff or npo.", true},
    {"method.w_forget", 1.0, "Weight of the forget (ascent) term, w_fgt.", true},
    {"method.w_learn", 0.5, "Weight of the learn (descent) term on neighbours, w_lrn.", true},
    {"method.w_kl", 1.0, "Weight of the KL term against the frozen original model, w_kl.", true},
    {"method.npo_beta", 0.1, "NPO's beta.", true},
    // optimiser
    {"optim.lr", 5e-6, "Adam learning rate.", true},
    {"optim.beta1", 0.9, "Adam beta1.", true},
    {"optim.beta2", 0.98, "Adam beta2.", true},
    {"optim.eps", 1e-8, "Adam epsilon.", true},
    // training
    {"train.batch_size", I(8), "Forget samples per global step, split over ranks.", true},
    {"train.max_epochs", I(30), "Stop after this many epochs even if not everything is forgotten (0: no cap).", false},
    {"train.max_steps", I(-1), "Stop after this many optimiser steps in total (-1: no cap).", false},
    {"train.seed", I(42), "Seed of the epoch permutations.", true},
    {"train.nan_policy", std::string("stop"), "On a NaN/Inf loss: stop (checkpoint the last good state and exit 1) or skip (drop the step).", false},
    {"train.check_weights_every", I(0), "Debug check: every N steps verify all ranks hold identical weights (0: off).", false},
    // neighbours
    {"neighbours.distance", std::string("l2"), "Embedding distance: l2 or cosine.", true},
    {"neighbours.span_begin", I(100), "First token of the span whose mean hidden state embeds a sequence.", true},
    {"neighbours.span_end", I(200), "One past the last token of that span (-1: to the end).", true},
    {"neighbours.batch_size", I(16), "Sequences embedded together.", false},
    // evaluation
    {"eval.n", I(10), "n of EL_n.", true},
    {"eval.suffix_start", I(150), "s: EL_n averages prefixes x_<i for i = s .. T-n (1 = Jang et al.).", true},
    {"eval.prefix_len", I(50), "BLEU: prompt length of the generated continuation.", true},
    {"eval.gen_len", I(50), "BLEU: continuation length.", true},
    {"eval.num_beams", I(2), "Beams of the BLEU continuation (official ICU: 2).", true},
    {"eval.batch_size", I(16), "Sequences evaluated together.", false},
    // thresholds and refinement
    {"thresholds.mode", std::string("fixed"), "fixed (use the values below) or calibrate (mean MA / EL_n of data.heldout).", true},
    {"thresholds.ma", 0.5994, "tau_MA: memorisation accuracy below which a sample counts as forgotten.", true},
    {"thresholds.el", 0.0499, "tau_EL: extraction likelihood EL_n below which a sample counts as forgotten.", true},
    {"thresholds.bleu", 0.01, "BLEU-4 of the continuation below which a sample counts as forgotten.", true},
    {"thresholds.use_ma", true, "Use MA in the per-sample check.", true},
    {"thresholds.use_el", true, "Use EL_n in the per-sample check.", true},
    {"thresholds.use_bleu", true, "Use BLEU in the per-sample check.", true},
    {"thresholds.refinement", std::string("recompute"), "recompute (flags re-evaluated every epoch; a sample may come back) or permanent.", true},
    // checkpoints
    {"checkpoint.every_steps", I(0), "Also checkpoint every N optimiser steps (0: epoch ends and signals only).", false},
    {"checkpoint.keep_last", I(3), "Checkpoints kept; older ones are deleted after a newer one is safely written.", false},
    // output
    {"output.dir", std::string("out"), "Output directory: checkpoints/, final/, metrics.jsonl, report.json, report.html.", false},
    {"output.log_level", std::string("info"), "trace, debug, info, warn, error or off.", false},
    {"output.save_final", true, "Write the final model as a Hugging Face directory (output.dir/final).", false},
    // runtime
    {"runtime.device", std::string("auto"), "cpu, cuda or auto (cuda when available).", false},
    {"runtime.threads", I(0), "LibTorch intra-op threads per rank (0: LibTorch's default).", false},
    {"runtime.comm_backend", std::string("auto"), "auto, mpi, nccl or local.", false},
    {"runtime.bucket_mb", 25.0, "Gradient all-reduce bucket size in MiB.", false},
    {"runtime.stall_timeout_s", 900.0, "Seconds a collective may wait before the job aborts naming the missing ranks.", false},
};

const ConfigKey* find_key(const std::string& key) {
  for (const auto& k : kKeys)
    if (k.key == key) return &k;
  return nullptr;
}

std::string kind_name(const ConfigValue& v) {
  switch (v.index()) {
    case 0: return "integer";
    case 1: return "float";
    case 2: return "boolean";
    default: return "string";
  }
}

std::string to_toml_literal(const ConfigValue& v) {
  switch (v.index()) {
    case 0: return std::to_string(std::get<int64_t>(v));
    case 1: {
      std::string s = fmt::format("{}", std::get<double>(v));
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    case 2: return std::get<bool>(v) ? "true" : "false";
    default: {
      std::ostringstream os;
      os << toml::value<std::string>(std::get<std::string>(v));
      return os.str();
    }
  }
}

// Convert a TOML node to the key's declared kind; an integer is accepted where a float is.
bool convert(const toml::node& node, const ConfigValue& like, ConfigValue& out) {
  switch (like.index()) {
    case 0:
      if (auto v = node.value_exact<int64_t>()) { out = *v; return true; }
      return false;
    case 1:
      if (auto v = node.value_exact<double>()) { out = *v; return true; }
      if (auto v = node.value_exact<int64_t>()) { out = static_cast<double>(*v); return true; }
      return false;
    case 2:
      if (auto v = node.value_exact<bool>()) { out = *v; return true; }
      return false;
    default:
      if (auto v = node.value_exact<std::string>()) { out = *v; return true; }
      return false;
  }
}

// Parse an override's value text as the key's kind.
bool parse_override(const std::string& text, const ConfigValue& like, ConfigValue& out) {
  if (like.index() == 3) {
    // Accept bare strings as well as quoted TOML strings.
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
      try {
        auto t = toml::parse("v = " + text);
        out = std::string(*t["v"].value<std::string>());
        return true;
      } catch (const toml::parse_error&) {
        return false;
      }
    }
    out = text;
    return true;
  }
  try {
    auto t = toml::parse("v = " + text);
    return convert(*t.get("v"), like, out);
  } catch (const toml::parse_error&) {
    return false;
  }
}

void walk(const toml::table& table, const std::string& prefix, std::map<std::string, ConfigValue>& values,
          std::vector<std::string>& errors, const std::string& source) {
  for (const auto& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto line = node.source().begin.line;
    if (const auto* sub = node.as_table()) {
      if (prefix.empty()) {
        walk(*sub, key, values, errors, source);
        continue;
      }
    }
    const ConfigKey* spec = find_key(key);
    if (!spec) {
      errors.push_back(fmt::format("{}:{}: unknown key '{}'", source, line, key));
      continue;
    }
    ConfigValue v;
    if (!convert(node, spec->default_value, v)) {
      errors.push_back(fmt::format("{}:{}: '{}' must be a {}", source, line, key,
                                   kind_name(spec->default_value)));
      continue;
    }
    values[key] = v;
  }
}


// Byte-level checks toml++ 3.x relies on but does not make: it asserts (in release builds:
// assumes, i.e. undefined behaviour) that it never meets a control character in a key, and its
// whitespace test hits TOML_UNREACHABLE on most non-ASCII code points. The TOML grammar allows
// neither outside strings and comments (controls but tab/LF/CR not even inside), so reject both
// here. Returns "line:column: problem" for the first offence.
std::optional<std::string> toml_prescan(const std::string& text) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMlBasic, kMlLiteral } in = In::kCode;
  size_t line = 1, column = 1;
  // The last character of code before this one, spaces and tabs skipped ('\n' at a line start).
  // A quote opens a string or quoted key only after one of \n = [ { , . -- anywhere else (e.g.
  // inside a bare value: `x = ab'c`) toml++ does not read it as a string, so the bytes after it
  // must not be treated as string contents (fuzz input regress-quote-inside-bare-value).
  char prev = '\n';
  for (size_t i = 0; i < text.size(); ++i, ++column) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return fmt::format("{}:{}: control character 0x{:02x} is not allowed in TOML", line, column, c);
    const bool triple = text.compare(i, 3, std::string(3, text[i])) == 0;
    switch (in) {
      case In::kCode:
        if (c >= 0x80)
          return fmt::format("{}:{}: a non-ASCII character is only allowed inside a string or a comment",
                             line, column);
        if ((c == '"' || c == '\'') && std::string_view("\n=[{,.").find(prev) == std::string_view::npos)
          return fmt::format("{}:{}: a quote can only begin a string or a quoted key (after '=', '[', '{{', ',', "
                             "'.' or at the start of a line), not follow '{}'",
                             line, column, prev);
        if (c == '#') in = In::kComment;
        if (c == '"') in = triple ? In::kMlBasic : In::kBasic;
        if (c == '\'') in = triple ? In::kMlLiteral : In::kLiteral;
        if (triple && (c == '"' || c == '\'')) i += 2, column += 2;
        if (c == '\n') prev = '\n';
        else if (c != ' ' && c != '\t' && c != '\r') prev = static_cast<char>(c);
        break;
      case In::kComment:
        if (c == '\n') in = In::kCode, prev = '\n';
        break;
      case In::kBasic:
      case In::kMlBasic:
        if (c == '\\' && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x20 &&
            text[i + 1] != 0x7f) {
          ++i, ++column;  // an escaped character never ends the string
        } else if (c == '"' && (in == In::kBasic || triple)) {
          if (in == In::kMlBasic) i += 2, column += 2;
          in = In::kCode, prev = '"';
        } else if (c == '\n' && in == In::kBasic) in = In::kCode, prev = '\n';  // toml++ reports it
        break;
      case In::kLiteral:
      case In::kMlLiteral:
        if (c == '\'' && (in == In::kLiteral || triple)) {
          if (in == In::kMlLiteral) i += 2, column += 2;
          in = In::kCode, prev = '\'';
        } else if (c == '\n' && in == In::kLiteral) in = In::kCode, prev = '\n';
        break;
    }
    if (i < text.size() && text[i] == '\n') line += 1, column = 0;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() { return kKeys; }

JobConfig::JobConfig() {
  for (const auto& k : kKeys) values_[k.key] = k.default_value;
}

JobConfig JobConfig::from_toml(const std::string& text, const std::string& source,
                               const std::vector<std::string>& overrides) {
  JobConfig cfg;
  std::vector<std::string> errors;
  if (auto bad = toml_prescan(text)) errors.push_back(source + ":" + *bad);
  if (errors.empty()) {
    try {
      toml::table table = toml::parse(text, source);
      walk(table, "", cfg.values_, errors, source);
    } catch (const toml::parse_error& e) {
      errors.push_back(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                   e.source().begin.column, e.description()));
    }
  }
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) {
      errors.push_back("--set '" + o + "': expected key=value");
      continue;
    }
    const std::string key = o.substr(0, eq);
    const ConfigKey* spec = find_key(key);
    if (!spec) {
      errors.push_back("--set: unknown key '" + key + "'");
      continue;
    }
    ConfigValue v;
    if (!parse_override(o.substr(eq + 1), spec->default_value, v)) {
      errors.push_back("--set " + key + ": '" + o.substr(eq + 1) + "' is not a " +
                       kind_name(spec->default_value));
      continue;
    }
    cfg.values_[key] = v;
  }
  if (errors.empty()) cfg.validate(errors);
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += "\n  " + e;
    UNL_USAGE_ERROR("invalid configuration (" + std::to_string(errors.size()) + " problem" +
                        (errors.size() > 1 ? "s" : "") + "):" + all,
                    "fix these keys; `unlearn config --reference` lists every key with its meaning");
  }
  return cfg;
}

JobConfig JobConfig::from_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in)
    UNL_USAGE_ERROR("cannot read config file '" + path + "'",
                    "check the path; `unlearn config --example` prints a starting point");
  std::stringstream ss;
  ss << in.rdbuf();
  JobConfig cfg = from_toml(ss.str(), path, overrides);
  cfg.base_dir_ = std::filesystem::absolute(path).parent_path().string();
  return cfg;
}

int64_t JobConfig::get_int(const std::string& key) const {
  auto it = values_.find(key);
  UNL_CHECK(it != values_.end() && it->second.index() == 0, "no integer config key " + key, "bug");
  return std::get<int64_t>(it->second);
}
double JobConfig::get_float(const std::string& key) const {
  auto it = values_.find(key);
  UNL_CHECK(it != values_.end() && it->second.index() == 1, "no float config key " + key, "bug");
  return std::get<double>(it->second);
}
bool JobConfig::get_bool(const std::string& key) const {
  auto it = values_.find(key);
  UNL_CHECK(it != values_.end() && it->second.index() == 2, "no boolean config key " + key, "bug");
  return std::get<bool>(it->second);
}
const std::string& JobConfig::get_string(const std::string& key) const {
  auto it = values_.find(key);
  UNL_CHECK(it != values_.end() && it->second.index() == 3, "no string config key " + key, "bug");
  return std::get<std::string>(it->second);
}
void JobConfig::set(const std::string& key, const ConfigValue& value) {
  const ConfigKey* spec = find_key(key);
  UNL_CHECK(spec && spec->default_value.index() == value.index(), "cannot set config key " + key,
            "bug: unknown key or wrong type");
  values_[key] = value;
}

const std::vector<std::string>& path_keys() {
  static const std::vector<std::string> keys = {"model.path", "model.tokenizer", "data.forget",
                                                "data.retain", "data.heldout", "output.dir"};
  return keys;
}

void JobConfig::resolve_paths() {
  for (const auto& key : path_keys()) {
    std::string p = path(key);
    if (!p.empty()) p = std::filesystem::absolute(p).lexically_normal().string();
    values_[key] = p;
  }
}

std::string JobConfig::path(const std::string& key) const {
  const std::string& p = get_string(key);
  if (p.empty() || base_dir_.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
}

void JobConfig::validate(std::vector<std::string>& errors) const {
  auto need = [&](bool ok, const std::string& msg) {
    if (!ok) errors.push_back(msg);
  };
  auto one_of = [&](const std::string& key, std::set<std::string> allowed) {
    const auto& v = get_string(key);
    if (!allowed.count(v)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      errors.push_back("'" + key + "' is '" + v + "'; use one of " + list);
    }
  };
  need(!get_string("model.path").empty(), "'model.path' is required: a Hugging Face model directory");
  need(!get_string("data.forget").empty(), "'data.forget' is required: the samples to forget");
  one_of("model.dtype", {"float32", "bfloat16"});
  one_of("data.format", {"auto", "jsonl", "npy", "h5"});
  one_of("method.name", {"icu", "ga", "graddiff", "npo", "finetune"});
  one_of("neighbours.distance", {"l2", "cosine"});
  one_of("thresholds.mode", {"fixed", "calibrate"});
  one_of("thresholds.refinement", {"recompute", "permanent"});
  one_of("train.nan_policy", {"stop", "skip"});
  one_of("runtime.device", {"auto", "cpu", "cuda"});
  one_of("runtime.comm_backend", {"auto", "mpi", "nccl", "local"});
  one_of("output.log_level", {"trace", "debug", "info", "warn", "error", "off"});
  const std::string method = get_string("method.name");
  need(!(method == "icu" || method == "graddiff") || !get_string("data.retain").empty(),
       "'data.retain' is required by method '" + method + "' (the neighbour / retain pool)");
  need(get_string("thresholds.mode") != "calibrate" || !get_string("data.heldout").empty(),
       "thresholds.mode = \"calibrate\" needs 'data.heldout'");
  need(get_int("train.batch_size") >= 1, "'train.batch_size' must be >= 1");
  need(get_int("train.max_epochs") >= 0, "'train.max_epochs' must be >= 0 (0: no cap)");
  need(get_int("data.max_tokens") >= 2, "'data.max_tokens' must be >= 2");
  need(get_int("data.col_begin") >= 0, "'data.col_begin' must be >= 0");
  need(get_int("data.col_end") == -1 || get_int("data.col_end") > get_int("data.col_begin"),
       "'data.col_end' must be -1 or greater than 'data.col_begin'");
  need(get_float("optim.lr") > 0, "'optim.lr' must be > 0");
  need(get_float("optim.beta1") >= 0 && get_float("optim.beta1") < 1, "'optim.beta1' must be in [0, 1)");
  need(get_float("optim.beta2") >= 0 && get_float("optim.beta2") < 1, "'optim.beta2' must be in [0, 1)");
  need(get_float("optim.eps") > 0, "'optim.eps' must be > 0");
  for (const char* w : {"method.w_forget", "method.w_learn", "method.w_kl"})
    need(get_float(w) >= 0, std::string("'") + w + "' must be >= 0");
  need(get_float("method.npo_beta") > 0, "'method.npo_beta' must be > 0");
  need(get_int("eval.n") >= 1, "'eval.n' must be >= 1");
  need(get_int("eval.suffix_start") >= 1, "'eval.suffix_start' must be >= 1");
  need(get_int("eval.prefix_len") >= 1, "'eval.prefix_len' must be >= 1");
  need(get_int("eval.gen_len") >= 1, "'eval.gen_len' must be >= 1");
  need(get_int("eval.num_beams") >= 1, "'eval.num_beams' must be >= 1");
  need(get_int("eval.batch_size") >= 1, "'eval.batch_size' must be >= 1");
  need(get_int("neighbours.batch_size") >= 1, "'neighbours.batch_size' must be >= 1");
  need(get_int("neighbours.span_begin") >= 0, "'neighbours.span_begin' must be >= 0");
  need(get_int("neighbours.span_end") == -1 || get_int("neighbours.span_end") > get_int("neighbours.span_begin"),
       "'neighbours.span_end' must be -1 or greater than 'neighbours.span_begin'");
  for (const char* t : {"thresholds.ma", "thresholds.el", "thresholds.bleu"})
    need(get_float(t) >= 0 && get_float(t) <= 1, std::string("'") + t + "' must be in [0, 1]");
  need(get_int("checkpoint.keep_last") >= 1, "'checkpoint.keep_last' must be >= 1");
  need(get_int("checkpoint.every_steps") >= 0, "'checkpoint.every_steps' must be >= 0");
  need(get_int("runtime.threads") >= 0, "'runtime.threads' must be >= 0");
  need(get_float("runtime.bucket_mb") > 0, "'runtime.bucket_mb' must be > 0");
  need(get_int("train.check_weights_every") >= 0, "'train.check_weights_every' must be >= 0");
  need(!get_string("output.dir").empty(), "'output.dir' must not be empty");
}

std::string JobConfig::to_toml() const {
  std::string out;
  std::string section;
  for (const auto& k : kKeys) {
    const auto dot = k.key.find('.');
    const std::string sec = k.key.substr(0, dot);
    if (sec != section) {
      out += (out.empty() ? "" : "\n") + std::string("[") + sec + "]\n";
      section = sec;
    }
    out += k.key.substr(dot + 1) + " = " + to_toml_literal(values_.at(k.key)) + "\n";
  }
  return out;
}

std::string JobConfig::resume_hash() const {
  Hasher h;
  for (const auto& k : kKeys) {
    if (!k.resume_sensitive) continue;
    h.update(k.key + "=" + to_toml_literal(values_.at(k.key)) + "\n");
  }
  return hex64(h.digest());
}

std::vector<std::string> JobConfig::resume_conflicts(const JobConfig& saved) const {
  std::vector<std::string> out;
  for (const auto& k : kKeys) {
    if (!k.resume_sensitive) continue;
    const auto& a = values_.at(k.key);
    const auto& b = saved.values_.at(k.key);
    if (a == b) continue;
    out.push_back(k.key + " (checkpoint: " + to_toml_literal(b) + ", now: " + to_toml_literal(a) + ")");
  }
  return out;
}

std::string config_reference_markdown() {
  std::string out =
      "# Configuration reference\n\n"
      "Generated by `unlearn config --reference` from the key table in `driver/job_config.cpp`;\n"
      "a test checks this file matches, so it cannot drift. Every key can be overridden on the\n"
      "command line with `--set key=value`. Keys marked *resume: fixed* cannot change between a\n"
      "checkpoint and its resume (the run would not be the same run); the others may.\n";
  std::string section;
  for (const auto& k : kKeys) {
    const auto dot = k.key.find('.');
    const std::string sec = k.key.substr(0, dot);
    if (sec != section) {
      out += "\n## [" + sec + "]\n\n| key | type | default | resume | meaning |\n|---|---|---|---|---|\n";
      section = sec;
    }
    std::string def = to_toml_literal(k.default_value);
    out += "| `" + k.key + "` | " + kind_name(k.default_value) + " | `" + def + "` | " +
           (k.resume_sensitive ? "fixed" : "may change") + " | " + k.help + " |\n";
  }
  return out;
}

}  // namespace unl::driver
