// The key table and everything built from it: TOML parsing with toml++, --set overrides,
// validation (all problems at once), the resolved TOML, the resume hash and the reference doc.
#include "driver/job_config.h"
#include "eval/task_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <toml++/toml.h>

#include "common/error.h"
#include "common/hash.h"

namespace unl::driver {
namespace {

enum Flags : unsigned { kMayChange = 0, kFixed = 1, kPath = 2 };

// One accessor pair per (section, field), generated from member pointers: the table cannot name
// a field that does not exist, and a key's type is its field's type.
template <auto Section, auto Field>
ConfigValue get_field(const JobConfig& c) {
  return ConfigValue((c.*Section).*Field);
}
template <auto Section, auto Field>
void set_field(JobConfig& c, const ConfigValue& v) {
  using T = std::decay_t<decltype((c.*Section).*Field)>;
  (c.*Section).*Field = std::get<T>(v);
}
template <auto Section, auto Field>
ConfigKey make_key(const char* key, const char* help, unsigned flags, std::vector<std::string> choices = {}) {
  return {key, help, (flags & kFixed) != 0, (flags & kPath) != 0, std::move(choices),
          &get_field<Section, Field>, &set_field<Section, Field>};
}
#define UNL_KEY(section, field, ...) \
  make_key<&JobConfig::section, &decltype(JobConfig::section)::field>(#section "." #field, __VA_ARGS__)

const std::vector<ConfigKey>& key_table() {
  static const std::vector<ConfigKey> keys = {
      UNL_KEY(model, path, "Hugging Face model directory (config.json + safetensors). Required.", kFixed | kPath),
      UNL_KEY(model, tokenizer, "Tokenizer directory (vocab.json + merges.txt or tokenizer.json); empty: the model directory, else the built-in GPT-2 vocabulary.", kFixed | kPath),
      UNL_KEY(model, dtype, "Weights dtype while unlearning. bfloat16 trains with fp32 master weights (train.precision auto or bf16-mixed); bf16 weights updated in place (train.precision = fp32) are refused.", kFixed, {"float32", "bfloat16"}),
      UNL_KEY(data, forget, "Forget set: .jsonl (text field or ids), .npy token array, or .h5. Required.", kFixed | kPath),
      UNL_KEY(data, retain, "Retained pool the neighbours are mined from (same formats). Required by icu and graddiff.", kFixed | kPath),
      UNL_KEY(data, heldout, "Optional held-out set the model never saw: perplexity before/after and threshold calibration.", kFixed | kPath),
      UNL_KEY(data, format, "Format of every data file (auto: by extension). qa: JSONL question/answer lines (data.prompt_field, data.response_field); chat: JSONL lines with a \"messages\" array of {role, content} ending with the assistant's response. qa and chat samples are rendered through the model's chat template and only their response tokens are targets of the losses, MA, EL_n and the continuation check.", kFixed, {"auto", "jsonl", "qa", "chat", "npy", "h5"}),
      UNL_KEY(data, text_field, "JSONL field holding the text.", kFixed),
      UNL_KEY(data, prompt_field, "data.format = qa: field holding the prompt (TOFU: question).", kFixed),
      UNL_KEY(data, response_field, "data.format = qa: field holding the response (TOFU: answer).", kFixed),
      UNL_KEY(data, chat_template, "qa/chat samples: auto renders them through the tokenizer's chat template (tokenizer_config.json) when it has one; none (or no template) joins prompt and response with data.separator.", kFixed, {"auto", "none"}),
      UNL_KEY(data, separator, "qa/chat samples without a chat template: text = prompt + separator + response (chat: the earlier messages' contents joined by it).", kFixed),
      UNL_KEY(data, h5_dataset, "Dataset name inside .h5 data files.", kFixed),
      UNL_KEY(data, col_begin, "First token column used from .npy/.h5 arrays.", kFixed),
      UNL_KEY(data, col_end, "One past the last token column (-1: all).", kFixed),
      UNL_KEY(data, max_tokens, "Truncate every sequence to this many tokens.", kFixed),
      UNL_KEY(data, limit, "Use only the first N forget samples (-1: all).", kFixed),
      UNL_KEY(method, name, "icu, ga (gradient ascent), graddiff, npo, or finetune (plain descent; what `unlearn train` sets).", kFixed, {"icu", "ga", "graddiff", "npo", "finetune"}),
      UNL_KEY(method, w_forget, "Weight of the forget (ascent) term, w_fgt.", kFixed),
      UNL_KEY(method, w_learn, "Weight of the learn (descent) term on neighbours, w_lrn.", kFixed),
      UNL_KEY(method, w_kl, "Weight of the KL term against the frozen original model, w_kl.", kFixed),
      UNL_KEY(method, npo_beta, "NPO's beta.", kFixed),
      UNL_KEY(optim, lr, "Adam learning rate.", kFixed),
      UNL_KEY(optim, beta1, "Adam beta1.", kFixed),
      UNL_KEY(optim, beta2, "Adam beta2.", kFixed),
      UNL_KEY(optim, eps, "Adam epsilon.", kFixed),
      UNL_KEY(train, batch_size, "Forget samples per global step, split over ranks.", kFixed),
      UNL_KEY(train, batching, "active: each epoch batches only the active pairs; official: every epoch walks all pairs in a seeded order, inactive pairs keep their batch slots masked and a batch with no active pair is skipped (the official ICU code's step count).", kFixed, {"active", "official"}),
      UNL_KEY(train, max_epochs, "Stop after this many epochs even if not everything is forgotten (0: no cap).", kMayChange),
      UNL_KEY(train, max_steps, "Stop after this many optimiser steps in total (-1: no cap).", kMayChange),
      UNL_KEY(train, seed, "Seed of the epoch permutations.", kFixed),
      UNL_KEY(train, nan_policy, "On a NaN/Inf loss: stop (checkpoint the last good state and exit 1) or skip (drop the step).", kMayChange, {"stop", "skip"}),
      UNL_KEY(train, precision, "fp32: weights, gradients and Adam in float32. bf16-mixed: forward and backward in bfloat16, gradients accumulated and reduced in float32, float32 master weights and Adam moments (the update is fp32 Adam's), the bfloat16 model refreshed from the masters after every step. auto: bf16-mixed when model.dtype = bfloat16 or the model's safetensors store bfloat16 weights, else fp32. A float32 checkpoint may be resumed as bf16-mixed (see docs/large-models.md).", kMayChange, {"auto", "fp32", "bf16-mixed"}),
      UNL_KEY(train, micro_batch_size, "Samples per forward/backward pass on a rank: each rank's share of a global batch is split into micro-batches whose gradients accumulate before the step's one all-reduce (0 or -1: the whole share at once). Changes memory, not results: the token-weighted global mean is the same (to float rounding).", kMayChange),
      UNL_KEY(train, activation_checkpointing, "Keep only each transformer block's input during forward and recompute its activations in backward: less activation memory for about one more forward per step. Gradients are unchanged (bit-identical on CPU).", kMayChange),
      UNL_KEY(train, zero_stage, "ZeRO sharding over ranks. 0: every rank holds Adam's state (replicated). 1: each rank keeps fp32 master weights and Adam moments for its slice of a flat parameter layout only; gradients are all-reduced, each rank updates its slice, and the slices are all-gathered into the model. 2: as 1, and gradients are reduce-scattered after every micro-batch so no rank keeps a full fp32 gradient. Results equal stage 0 (to float rounding; bit for bit under runtime.deterministic_reductions). Checkpoints keep one format, so a run may resume at another stage or world size. Stage 3 (parameters) is not available yet. See docs/large-models.md.", kMayChange),
      UNL_KEY(train, check_weights_every, "Debug check: every N steps verify all ranks hold identical weights (0: off).", kMayChange),
      UNL_KEY(neighbours, index, "Precomputed pairs instead of mining: JSONL lines {\"forget\": id, \"neighbour\": id} (ids of data.forget and data.retain rows) or a .npy of retain row numbers, one per forget row. Honoured exactly.", kFixed | kPath),
      UNL_KEY(neighbours, embedder, "What embeds a sequence for mining. model: the mean last hidden state of the frozen original model over the span; sentence: a sentence embedder (BERT architecture, e.g. all-MiniLM-L6-v2 as the official code) over the decoded text of the span.", kFixed, {"model", "sentence"}),
      UNL_KEY(neighbours, embedder_model, "Sentence embedder directory (config.json, model.safetensors, vocab.txt) for neighbours.embedder = sentence.", kFixed | kPath),
      UNL_KEY(neighbours, distance, "Embedding distance.", kFixed, {"l2", "cosine"}),
      UNL_KEY(neighbours, span_begin, "First token of the span whose mean hidden state embeds a sequence.", kFixed),
      UNL_KEY(neighbours, span_end, "One past the last token of that span (-1: to the end).", kFixed),
      UNL_KEY(neighbours, batch_size, "Sequences embedded together.", kMayChange),
      UNL_KEY(eval, n, "n of EL_n.", kFixed),
      UNL_KEY(eval, suffix_start, "s: EL_n averages prefixes x_<i for i = s .. T-n (1 = Jang et al.).", kFixed),
      UNL_KEY(eval, prompt_begin, "Continuation check: first token of the prompt (official ICU: 100).", kFixed),
      UNL_KEY(eval, prefix_len, "Continuation check: prompt length (tokens [prompt_begin, prompt_begin + prefix_len)).", kFixed),
      UNL_KEY(eval, gen_len, "Continuation check: tokens generated and compared with the next gen_len tokens of the sample.", kFixed),
      UNL_KEY(eval, num_beams, "Beams of the BLEU continuation (official ICU: 2).", kFixed),
      UNL_KEY(eval, batch_size, "Sequences evaluated together.", kMayChange),
      UNL_KEY(eval, bertscore_model, "BERT directory (e.g. bert-base-uncased: config.json, model.safetensors, vocab.txt) for BERTScore-F1 of the continuation; empty: BLEU only.", kFixed | kPath),
      UNL_KEY(eval, bertscore_layer, "BERTScore: hidden state after this many layers (bert-base-uncased: 9, as bert_score uses).", kFixed),
      UNL_KEY(eval, tasks, "Evaluation tasks run before unlearning, every eval.every_epochs epochs and when the run stops, recorded in metrics.jsonl, output.dir/eval.json and the report: kind[:name]=FILE,... with kind choice, lambada, dialogue, ppl, tofu, tofu_retain, tofu_options (FILE relative to this file; tofu questions rendered as data.format = qa renders them), or mia (data.forget against data.heldout). See docs/evaluation.md. Empty: none.", kMayChange),
      UNL_KEY(eval, every_epochs, "Run eval.tasks after every N-th epoch (0: only before unlearning and when the run stops).", kMayChange),
      UNL_KEY(eval, min_k, "eval.tasks mia: fraction of lowest-scoring tokens Min-k% and Min-k%++ average.", kMayChange),
      UNL_KEY(eval, max_length, "eval.tasks: tokens a choice / lambada / dialogue request may use (capped by the model's positions).", kMayChange),
      UNL_KEY(eval, ppl_window, "eval.tasks ppl: non-overlapping window length in tokens.", kMayChange),
      UNL_KEY(eval, answer_tokens, "eval.tasks tofu: greedy answer length for ROUGE-L (at most half of eval.max_length).", kMayChange),
      UNL_KEY(eval, retain_eval, "eval.tasks tofu: eval.json of a retain-only model on the same tasks (`unlearn eval --tasks ... --out`); gives forget_quality. Empty: none.", kMayChange | kPath),
      UNL_KEY(thresholds, rule, "Per-sample verdict. official: forgotten when BLEU < thresholds.bleu or (with eval.bertscore_model) BERTScore-F1 < thresholds.bertscore; all: when every enabled check (use_bleu, use_el, use_ma) is below its threshold.", kFixed, {"official", "all"}),
      UNL_KEY(thresholds, mode, "fixed (use the values below) or calibrate (mean MA / EL_n of data.heldout).", kFixed, {"fixed", "calibrate"}),
      UNL_KEY(thresholds, ma, "tau_MA: memorisation accuracy below which a sample counts as forgotten.", kFixed),
      UNL_KEY(thresholds, el, "tau_EL: extraction likelihood EL_n below which a sample counts as forgotten.", kFixed),
      UNL_KEY(thresholds, bleu, "BLEU-4 of the continuation below which a sample counts as forgotten.", kFixed),
      UNL_KEY(thresholds, bertscore, "BERTScore-F1 of the continuation below which a sample counts as forgotten (rule official, with eval.bertscore_model).", kFixed),
      UNL_KEY(thresholds, use_ma, "Rule all: MA takes part in the per-sample check; also the set-level stop rule's MA criterion.", kFixed),
      UNL_KEY(thresholds, use_el, "Rule all: EL_n takes part in the per-sample check; also the set-level stop rule's EL criterion.", kFixed),
      UNL_KEY(thresholds, use_bleu, "Rule all: BLEU takes part in the per-sample check.", kFixed),
      UNL_KEY(thresholds, refinement, "recompute (flags re-evaluated every epoch; a sample may come back) or permanent.", kFixed, {"recompute", "permanent"}),
      UNL_KEY(checkpoint, every_steps, "Also checkpoint every N optimiser steps (0: epoch ends and signals only).", kMayChange),
      UNL_KEY(checkpoint, keep_last, "Checkpoints kept; older ones are deleted after a newer one is safely written.", kMayChange),
      UNL_KEY(output, dir, "Output directory: checkpoints/, final/, metrics.jsonl, report.json, report.html.", kMayChange | kPath),
      UNL_KEY(output, log_level, "Log verbosity.", kMayChange, {"trace", "debug", "info", "warn", "error", "off"}),
      UNL_KEY(output, save_final, "Write the final model as a Hugging Face directory (output.dir/final).", kMayChange),
      UNL_KEY(runtime, device, "cpu, cuda or auto (cuda when available).", kMayChange, {"auto", "cpu", "cuda"}),
      UNL_KEY(runtime, threads, "LibTorch intra-op threads per rank (0: LibTorch's default).", kMayChange),
      UNL_KEY(runtime, comm_backend, "Collective backend (auto: nccl on GPUs, mpi on CPUs, local for one process).", kMayChange, {"auto", "mpi", "nccl", "local"}),
      UNL_KEY(runtime, bucket_mb, "Gradient all-reduce bucket size in MiB.", kMayChange),
      UNL_KEY(runtime, stall_timeout_s, "Seconds a collective may wait before the job aborts naming the missing ranks.", kMayChange),
      UNL_KEY(runtime, deterministic_reductions, "Audit mode: each sample's gradient is computed alone and summed exactly (fixed point, 2^-40), so a run gives bit-identical losses and weights on any number of ranks (slower; see docs/architecture.md).", kFixed),
  };
  return keys;
}
#undef UNL_KEY

// The official ICU settings (himalalps/ICU scripts/train-*.sh and the paper, arXiv 2407.20271):
// per-sample check on tokens [100, 150) -> [150, 200) with 2 beams, BLEU < 0.01 or BERTScore-F1
// < 0.3, the official step accounting, EL_10 over suffixes from 150, neighbours from tokens
// [100, 200). Learning rates and batch sizes per model size as the paper reports them.
std::vector<std::string> official_common() {
  return {"data.max_tokens=200",      "method.name=icu",       "method.w_forget=1.0",   "method.w_learn=0.5",
          "method.w_kl=1.0",          "optim.beta1=0.9",       "optim.beta2=0.98",      "optim.eps=1e-8",
          "train.batching=official",  "neighbours.span_begin=100", "neighbours.span_end=200",
          "eval.n=10",                "eval.suffix_start=150", "eval.prompt_begin=100", "eval.prefix_len=50",
          "eval.gen_len=50",          "eval.num_beams=2",      "thresholds.rule=official",
          "thresholds.bleu=0.01",     "thresholds.bertscore=0.3", "thresholds.mode=fixed"};
}
std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

const std::vector<ConfigPreset>& preset_table() {
  static const std::vector<ConfigPreset> presets = {
      {"paper-125m", "GPT-Neo 125M as in the paper: lr 5e-6, batch 8, tau_MA 0.5994, tau_EL 0.0499",
       with(official_common(), {"optim.lr=5e-6", "train.batch_size=8", "thresholds.ma=0.5994", "thresholds.el=0.0499"})},
      {"paper-1.3b", "GPT-Neo 1.3B as in the paper: lr 2e-6, batch 4, tau_MA 0.7994, tau_EL 0.6499 (scripts/train-1_3b.sh)",
       with(official_common(), {"optim.lr=2e-6", "train.batch_size=4", "thresholds.ma=0.7994", "thresholds.el=0.6499"})},
      {"paper-2.7b", "GPT-Neo 2.7B as in the paper: lr 2e-6, batch 4, tau_MA 0.5994, tau_EL 0.0499",
       with(official_common(), {"optim.lr=2e-6", "train.batch_size=4", "thresholds.ma=0.5994", "thresholds.el=0.0499"})},
  };
  return presets;
}

std::string kind_name(const ConfigValue& v) {
  switch (v.index()) {
    case 0: return "an integer";
    case 1: return "a float";
    case 2: return "a boolean";
    default: return "a string";
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
      const auto& str = std::get<std::string>(v);
      // Control characters (a newline separator) as a one-line basic string with escapes: toml++
      // would print a multi-line literal, which breaks the resolved file's one-key-per-line
      // layout and the reference's table rows.
      if (std::any_of(str.begin(), str.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        std::string out = "\"";
        for (char c : str) {
          switch (c) {
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            default:
              if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
              else out += c;
          }
        }
        return out + "\"";
      }
      std::ostringstream os;
      os << toml::value<std::string>(str);
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

// Every problem of a parsed configuration beyond types: required keys, allowed values, ranges.
void validate(const JobConfig& c, std::vector<std::string>& errors) {
  auto need = [&](bool ok, const std::string& msg) {
    if (!ok) errors.push_back(msg);
  };
  for (const auto& k : key_table()) {
    if (k.choices.empty()) continue;
    const std::string v = std::get<std::string>(k.get(c));  // a copy: k.get returns a temporary
    if (std::find(k.choices.begin(), k.choices.end(), v) != k.choices.end()) continue;
    std::string list;
    for (const auto& a : k.choices) list += (list.empty() ? "" : ", ") + a;
    errors.push_back("'" + k.key + "' is '" + v + "'; use one of " + list);
  }
  need(!c.model.path.empty(), "'model.path' is required: a Hugging Face model directory");
  need(!c.data.forget.empty(), "'data.forget' is required: the samples to forget");
  const std::string& method = c.method.name;
  need(!(method == "icu" || method == "graddiff") || !c.data.retain.empty(),
       "'data.retain' is required by method '" + method + "' (the neighbour / retain pool)");
  need(c.thresholds.mode != "calibrate" || !c.data.heldout.empty(),
       "thresholds.mode = \"calibrate\" needs 'data.heldout'");
  need(c.train.batch_size >= 1, "'train.batch_size' must be >= 1");
  need(c.train.max_epochs >= 0, "'train.max_epochs' must be >= 0 (0: no cap)");
  need(c.data.max_tokens >= 2, "'data.max_tokens' must be >= 2");
  need(c.data.col_begin >= 0, "'data.col_begin' must be >= 0");
  need(c.data.format != "qa" || (!c.data.prompt_field.empty() && !c.data.response_field.empty() &&
                                 c.data.prompt_field != c.data.response_field),
       "data.format = \"qa\" needs two different non-empty fields 'data.prompt_field' and 'data.response_field'");
  need(c.data.col_end == -1 || c.data.col_end > c.data.col_begin,
       "'data.col_end' must be -1 or greater than 'data.col_begin'");
  need(c.optim.lr > 0, "'optim.lr' must be > 0");
  need(c.optim.beta1 >= 0 && c.optim.beta1 < 1, "'optim.beta1' must be in [0, 1)");
  need(c.optim.beta2 >= 0 && c.optim.beta2 < 1, "'optim.beta2' must be in [0, 1)");
  need(c.optim.eps > 0, "'optim.eps' must be > 0");
  need(c.method.w_forget >= 0, "'method.w_forget' must be >= 0");
  need(c.method.w_learn >= 0, "'method.w_learn' must be >= 0");
  need(c.method.w_kl >= 0, "'method.w_kl' must be >= 0");
  need(c.method.npo_beta > 0, "'method.npo_beta' must be > 0");
  need(c.eval.n >= 1, "'eval.n' must be >= 1");
  need(c.eval.suffix_start >= 1, "'eval.suffix_start' must be >= 1");
  need(c.eval.prompt_begin >= 0, "'eval.prompt_begin' must be >= 0");
  need(c.eval.prefix_len >= 1, "'eval.prefix_len' must be >= 1");
  need(c.eval.gen_len >= 1, "'eval.gen_len' must be >= 1");
  need(c.eval.num_beams >= 1, "'eval.num_beams' must be >= 1");
  need(c.eval.batch_size >= 1, "'eval.batch_size' must be >= 1");
  need(c.neighbours.batch_size >= 1, "'neighbours.batch_size' must be >= 1");
  need(c.neighbours.embedder != "sentence" || !c.neighbours.embedder_model.empty(),
       "neighbours.embedder = \"sentence\" needs 'neighbours.embedder_model' (a sentence embedder directory)");
  need(c.eval.bertscore_layer >= 0, "'eval.bertscore_layer' must be >= 0");
  need(c.eval.every_epochs >= 0, "'eval.every_epochs' must be >= 0");
  need(c.eval.min_k > 0 && c.eval.min_k <= 1, "'eval.min_k' must be in (0, 1]");
  need(c.eval.max_length >= 2, "'eval.max_length' must be >= 2");
  need(c.eval.ppl_window >= 2, "'eval.ppl_window' must be >= 2");
  need(c.eval.answer_tokens >= 1, "'eval.answer_tokens' must be >= 1");
  need(c.eval.retain_eval.empty() || !c.eval.tasks.empty(),
       "'eval.retain_eval' needs a tofu task in 'eval.tasks' (forget quality compares its truth ratios)");
  if (!c.eval.tasks.empty()) {
    try {
      const auto tasks = eval::parse_task_list(c.eval.tasks);
      for (const auto& t : tasks)
        need(t.kind != "mia" || !c.data.heldout.empty(), "'eval.tasks' has mia, which needs 'data.heldout'");
      need(c.eval.retain_eval.empty() || std::any_of(tasks.begin(), tasks.end(), [](const auto& t) { return t.kind == "tofu"; }),
           "'eval.retain_eval' needs a tofu task in 'eval.tasks' (forget quality compares its truth ratios)");
    } catch (const Error& e) {
      need(false, "'eval.tasks': " + e.description());
    }
  }
  need(c.neighbours.span_begin >= 0, "'neighbours.span_begin' must be >= 0");
  need(c.neighbours.span_end == -1 || c.neighbours.span_end > c.neighbours.span_begin,
       "'neighbours.span_end' must be -1 or greater than 'neighbours.span_begin'");
  need(c.thresholds.ma >= 0 && c.thresholds.ma <= 1, "'thresholds.ma' must be in [0, 1]");
  need(c.thresholds.el >= 0 && c.thresholds.el <= 1, "'thresholds.el' must be in [0, 1]");
  need(c.thresholds.bleu >= 0 && c.thresholds.bleu <= 1, "'thresholds.bleu' must be in [0, 1]");
  need(c.thresholds.bertscore >= -1 && c.thresholds.bertscore <= 1, "'thresholds.bertscore' must be in [-1, 1]");
  need(c.checkpoint.keep_last >= 1, "'checkpoint.keep_last' must be >= 1");
  need(c.checkpoint.every_steps >= 0, "'checkpoint.every_steps' must be >= 0");
  need(c.runtime.threads >= 0, "'runtime.threads' must be >= 0");
  need(c.runtime.bucket_mb > 0, "'runtime.bucket_mb' must be > 0");
  need(c.runtime.stall_timeout_s > 0, "'runtime.stall_timeout_s' must be > 0");
  // Pure low precision: Adam on bf16 weights in place. At lr 5e-6 a step is below half a bf16 ulp
  // of most weights (bf16 keeps 8 significant bits), so it rounds away and the model stays put.
  need(!(c.model.dtype == "bfloat16" && c.train.precision == "fp32"),
       "model.dtype = \"bfloat16\" with train.precision = \"fp32\" would update bfloat16 weights in place: Adam steps "
       "below half a bfloat16 ulp (most steps at lr 5e-6) round away and the model does not change; set "
       "train.precision = \"bf16-mixed\" (float32 master weights and moments) or model.dtype = \"float32\"");
  need(c.train.micro_batch_size >= -1, "'train.micro_batch_size' must be >= 1, or 0 / -1 for the whole share");
  need(c.train.zero_stage >= 0 && c.train.zero_stage <= 2,
       "'train.zero_stage' must be 0, 1 or 2 (stage 3, sharded parameters, is not available yet)");
  need(c.train.check_weights_every >= 0, "'train.check_weights_every' must be >= 0");
  need(!c.output.dir.empty(), "'output.dir' must not be empty");
}

// Sets every key found in a parsed TOML document; collects unknown keys and wrong types.
void walk(const toml::table& table, const std::string& prefix, JobConfig& cfg,
          std::vector<std::string>& errors, const std::string& source) {
  for (const auto& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto line = node.source().begin.line;
    if (const auto* sub = node.as_table()) {
      if (prefix.empty()) {
        walk(*sub, key, cfg, errors, source);
        continue;
      }
    }
    const ConfigKey* spec = find_config_key(key);
    if (!spec) {
      errors.push_back(fmt::format("{}:{}: unknown key '{}'", source, line, key));
      continue;
    }
    ConfigValue v;
    if (!convert(node, spec->default_value(), v)) {
      errors.push_back(fmt::format("{}:{}: '{}' must be {}", source, line, key, kind_name(spec->default_value())));
      continue;
    }
    spec->set(cfg, v);
  }
}

void apply_overrides(const std::vector<std::string>& overrides, JobConfig& cfg, std::vector<std::string>& errors) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) {
      errors.push_back("--set '" + o + "': expected key=value");
      continue;
    }
    const std::string key = o.substr(0, eq);
    const ConfigKey* spec = find_config_key(key);
    if (!spec) {
      errors.push_back("--set: unknown key '" + key + "'");
      continue;
    }
    ConfigValue v;
    if (!parse_override(o.substr(eq + 1), spec->default_value(), v)) {
      errors.push_back("--set " + key + ": '" + o.substr(eq + 1) + "' is not " + kind_name(spec->default_value()));
      continue;
    }
    spec->set(cfg, v);
  }
}

}  // namespace

const std::vector<ConfigKey>& config_keys() { return key_table(); }
const std::vector<ConfigPreset>& config_presets() { return preset_table(); }

const ConfigKey* find_config_key(const std::string& key) {
  for (const auto& k : key_table())
    if (k.key == key) return &k;
  return nullptr;
}

JobConfig JobConfig::from_toml(const std::string& text, const std::string& source,
                               const std::vector<std::string>& overrides, const std::string& preset) {
  JobConfig cfg;
  std::vector<std::string> errors;
  if (!preset.empty()) {
    const auto& all = preset_table();
    auto it = std::find_if(all.begin(), all.end(), [&](const ConfigPreset& p) { return p.name == preset; });
    if (it == all.end()) {
      std::string names;
      for (const auto& p : all) names += (names.empty() ? "" : ", ") + p.name;
      errors.push_back("--preset '" + preset + "' does not exist; use one of " + names);
    } else {
      apply_overrides(it->values, cfg, errors);
    }
  }
  if (auto bad = toml_prescan(text)) errors.push_back(source + ":" + *bad);
  if (errors.empty()) {
    try {
      toml::table table = toml::parse(text, source);
      walk(table, "", cfg, errors, source);
    } catch (const toml::parse_error& e) {
      errors.push_back(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                   e.source().begin.column, e.description()));
    }
  }
  apply_overrides(overrides, cfg, errors);
  if (errors.empty()) validate(cfg, errors);
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += "\n  " + e;
    UNL_USAGE_ERROR("invalid configuration (" + std::to_string(errors.size()) + " problem" +
                        (errors.size() > 1 ? "s" : "") + "):" + all,
                    "fix these keys; `unlearn config --reference` lists every key with its meaning");
  }
  return cfg;
}

JobConfig JobConfig::from_file(const std::string& path, const std::vector<std::string>& overrides,
                               const std::string& preset) {
  std::ifstream in(path);
  if (!in)
    UNL_USAGE_ERROR("cannot read config file '" + path + "'",
                    "check the path; `unlearn config --example` prints a starting point");
  std::stringstream ss;
  ss << in.rdbuf();
  JobConfig cfg = from_toml(ss.str(), path, overrides, preset);
  cfg.base_dir = std::filesystem::absolute(path).parent_path().string();
  return cfg;
}

void JobConfig::resolve_paths() {
  namespace fs = std::filesystem;
  for (const auto& k : key_table()) {
    if (!k.is_path) continue;
    std::string p = std::get<std::string>(k.get(*this));
    if (p.empty()) continue;
    if (!base_dir.empty() && !fs::path(p).is_absolute()) p = (fs::path(base_dir) / p).string();
    k.set(*this, fs::absolute(p).lexically_normal().string());
  }
}

std::string JobConfig::to_toml() const {
  std::string out;
  std::string section;
  for (const auto& k : key_table()) {
    const auto dot = k.key.find('.');
    const std::string sec = k.key.substr(0, dot);
    if (sec != section) {
      out += (out.empty() ? "" : "\n") + std::string("[") + sec + "]\n";
      section = sec;
    }
    out += k.key.substr(dot + 1) + " = " + to_toml_literal(k.get(*this)) + "\n";
  }
  return out;
}

std::string JobConfig::resume_hash() const {
  Hasher h;
  for (const auto& k : key_table()) {
    if (!k.resume_sensitive) continue;
    h.update(k.key + "=" + to_toml_literal(k.get(*this)) + "\n");
  }
  return hex64(h.digest());
}

std::vector<std::string> JobConfig::resume_conflicts(const JobConfig& saved) const {
  std::vector<std::string> out;
  for (const auto& k : key_table()) {
    if (!k.resume_sensitive) continue;
    const auto a = k.get(*this);
    const auto b = k.get(saved);
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
  for (const auto& k : key_table()) {
    const auto dot = k.key.find('.');
    const std::string sec = k.key.substr(0, dot);
    if (sec != section) {
      out += "\n## [" + sec + "]\n\n| key | type | default | resume | meaning |\n|---|---|---|---|---|\n";
      section = sec;
    }
    std::string help = k.help;
    if (!k.choices.empty()) {
      std::string list;
      for (const auto& c : k.choices) list += (list.empty() ? "" : ", ") + ("`" + c + "`");
      help += " One of: " + list + ".";
    }
    std::string type = kind_name(k.default_value());
    type = type.substr(type.find(' ') + 1);
    out += "| `" + k.key + "` | " + type + " | `" + to_toml_literal(k.default_value()) + "` | " +
           (k.resume_sensitive ? "fixed" : "may change") + " | " + help + " |\n";
  }
  out += "\n## Presets\n\n`unlearn run --preset NAME` starts from these values; the job file and `--set` still\n"
         "override them. Sources: the official code's `scripts/train-*.sh` (himalalps/ICU) and the paper.\n"
         "The official scripts use lr 5e-6 for all three sizes; the paper reports 2e-6 for 1.3B and 2.7B.\n";
  for (const auto& p : preset_table()) {
    out += "\n### `" + p.name + "`\n\n" + p.description + ".\n\n```toml\n";
    for (const auto& v : p.values) out += v + "\n";
    out += "```\n";
  }
  return out;
}

}  // namespace unl::driver
