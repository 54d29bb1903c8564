// Implementations of eval, tokenize, logits, generate, init and inspect.
#include "driver/commands.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "common/common.h"
#include "driver/eval_tasks.h"
#include "driver/evaluation.h"
#include "driver/inputs.h"
#include "driver/state_io.h"
#include "unlearn/refinement.h"
#include "model/model.h"

namespace unl::driver {
namespace fs = std::filesystem;
using nlohmann::json;

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t n = 1;
  for (auto d : shape) {
    dims += std::to_string(d) + ", ";
    n *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Total header (magic 6 + version 2 + length 2 + text + newline) padded to a multiple of 64.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  UNL_CHECK(out.good(), "cannot write '" + path + "'", "check the directory exists and is writable");
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(le, 2);
  out << header;
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(float)));
  UNL_CHECK(out.good(), "write to '" + path + "' failed", "the disk may be full");
}

namespace {

// One line per sample: the continuation window as text, every score and the official verdict,
// so the verdict can be recomputed with other tools.
void write_per_sample(const std::string& path, const EvalArgs& a, const std::vector<unlearn::SampleMetrics>& metrics,
                      const std::vector<unlearn::ContinuationText>& texts) {
  unlearn::Thresholds t;
  t.bleu = a.bleu_threshold;
  t.bertscore = a.bertscore_threshold;
  std::string out;
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    const auto& x = texts[i];
    json line = {{"id", m.id}, {"prompt", x.prompt}, {"generated", x.generated}, {"reference", x.reference},
                 {"full_window", x.full_window}, {"bleu", m.bleu}, {"el", m.el}, {"ma", m.ma}, {"loss", m.loss},
                 {"forgotten", unlearn::is_forgotten(m, t)}};
    if (m.bertscore >= 0) line["bertscore_f1"] = m.bertscore;
    out += line.dump() + "\n";
  }
  write_text_file(path, out);
}

}  // namespace

int cmd_eval(const EvalArgs& a, comm::Communicator& comm) {
  if (!a.eval.tasks.empty()) return cmd_eval_tasks(a, comm);
  if (a.forget.empty()) UNL_USAGE_ERROR("unlearn eval needs --forget or --tasks", "see unlearn eval --help");
  const auto device = select_device("auto", local_rank_of(comm));
  auto loaded = model::load_pretrained(a.model, torch::kFloat32, device);
  auto tok = load_tokenizer(a.tokenizer, a.model, /*warn_builtin=*/false);
  const int64_t pad = loaded.config.pad_token_id >= 0 ? loaded.config.pad_token_id : loaded.config.eos_token_id;
  const EvalSettings s = make_eval_settings(a.eval, a.data, tok, pad, device);
  auto forget = load_token_set(a.data, a.forget, tok, loaded.config.vocab_size);
  std::vector<unlearn::ContinuationText> texts;
  auto metrics = evaluate_forget_set(comm, *loaded.model, forget, s, &tok, a.per_sample.empty() ? nullptr : &texts);
  double ppl = -1;
  if (!a.heldout.empty()) {
    auto held = load_token_set(a.data, a.heldout, tok, loaded.config.vocab_size);
    ppl = heldout_perplexity(comm, *loaded.model, held, s);
  }
  if (comm.rank() != 0) return 0;
  if (!a.per_sample.empty()) write_per_sample(a.per_sample, a, metrics, texts);
  double ma = 0, el = 0, bleu = 0, bertscore = 0, loss = 0;
  int64_t tokens = 0, short_windows = 0;
  for (const auto& m : metrics) {
    ma += m.ma / metrics.size();
    el += m.el / metrics.size();
    bleu += m.bleu / metrics.size();
    bertscore += m.bertscore / metrics.size();
    loss += m.loss * m.tokens;
    tokens += m.tokens;
  }
  for (size_t i = 0; i < forget.size(); ++i)
    short_windows +=
        !unlearn::continuation_window(static_cast<int64_t>(forget.tokens[i].size()), s.options, forget.prompt_lens[i]).full;
  const double forget_ppl = tokens ? std::exp(loss / tokens) : -1;
  if (a.json) {
    json r = {{"model", a.model}, {"forget", a.forget}, {"samples", metrics.size()}, {"n", a.eval.n},
              {"mean_ma", ma}, {"mean_el", el}, {"mean_bleu", bleu}, {"forget_ppl", forget_ppl},
              {"heldout_ppl", ppl}, {"shortened_windows", short_windows}, {"per_sample", json::array()}};
    if (s.bertscore) r["mean_bertscore_f1"] = bertscore;
    for (const auto& m : metrics)
      r["per_sample"].push_back({{"id", m.id}, {"ma", m.ma}, {"el", m.el}, {"bleu", m.bleu}, {"loss", m.loss}});
    std::cout << r.dump(2) << "\n";
  } else {
    fmt::print("model {}\nforget set {} ({} samples)\n", a.model, a.forget, metrics.size());
    fmt::print("  mean MA      {:.4f}\n  mean EL{:<5} {:.4f}\n  mean BLEU-4  {:.4f}\n", ma, a.eval.n, el, bleu);
    if (s.bertscore) fmt::print("  mean BERTScore-F1 {:.4f}\n", bertscore);
    fmt::print("  forget PPL   {:.3f}\n", forget_ppl);
    if (short_windows > 0)
      fmt::print("  {} of {} samples are shorter than the continuation window [{}, {}) and were scored on what exists\n",
                 short_windows, metrics.size(), a.eval.prompt_begin, a.eval.prompt_begin + a.eval.prefix_len + a.eval.gen_len);
    if (ppl > 0) fmt::print("held-out PPL   {:.3f}\n", ppl);
  }
  return 0;
}

int cmd_tokenize(const std::string& tokenizer_dir, const std::string& input, bool add_special_tokens) {
  using nlohmann::ordered_json;
  auto tok = tokenizer_dir.empty() ? model::Tokenizer::gpt2() : model::Tokenizer::from_dir(tokenizer_dir);
  std::ifstream in(input);
  UNL_CHECK(in.good(), "cannot read '" + input + "'", "check the path");
  const std::string shapes = "each line must be {\"text\": ...}, {\"ids\": [...]} or {\"messages\": [...]}";
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string at = input + ":" + std::to_string(lineno) + ": ";
    ordered_json j = ordered_json::parse(line, nullptr, false);
    UNL_CHECK(!j.is_discarded() && j.is_object(), at + "not a JSON object", shapes);
    if (j.contains("messages")) {
      const bool gen = j.value("add_generation_prompt", false);
      const ordered_json kwargs = j.contains("chat_template_kwargs") ? j["chat_template_kwargs"] : ordered_json::object();
      UNL_CHECK(kwargs.is_object(), at + "chat_template_kwargs must be an object", shapes);
      const std::string text = tok.apply_chat_template(j["messages"], gen, kwargs);
      j["text"] = text;
      j["ids"] = tok.encode(text, false);
    } else if (j.contains("text")) {
      UNL_CHECK(j["text"].is_string(), at + "\"text\" must be a string", shapes);
      j["ids"] = tok.encode(j["text"].get<std::string>(), add_special_tokens);
    } else if (j.contains("ids")) {
      UNL_CHECK(j["ids"].is_array(), at + "\"ids\" must be a list of integers", shapes);
      std::vector<int64_t> ids;
      for (const auto& id : j["ids"]) {
        UNL_CHECK(id.is_number_integer(), at + "\"ids\" must be a list of integers", shapes);
        ids.push_back(id.get<int64_t>());
      }
      j["text"] = tok.decode(ids, false, false);
      j["text_clean_up"] = tok.decode(ids, false, true);
    } else {
      UNL_CHECK(false, at + "no \"text\", \"ids\" or \"messages\" field", shapes);
    }
    std::cout << j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
  }
  return 0;
}

int cmd_logits(const std::string& model_dir, const std::string& ids_text, const std::string& out) {
  std::vector<int64_t> ids;
  std::stringstream ss(ids_text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      ids.push_back(std::stoll(item, &used));
      UNL_CHECK(used == item.size(), "", "");
    } catch (const std::exception&) {
      UNL_USAGE_ERROR("--ids: '" + item + "' is not an integer token id", "pass comma-separated ids, e.g. --ids 464,2068");
    }
  }
  UNL_CHECK(!ids.empty(), "--ids is empty", "pass at least one token id");
  auto loaded = model::load_pretrained(model_dir);
  for (auto id : ids)
    if (id < 0 || id >= loaded.config.vocab_size)
      UNL_USAGE_ERROR("token id " + std::to_string(id) + " outside the model's vocabulary of " +
                          std::to_string(loaded.config.vocab_size),
                      "use ids in [0, vocab_size)");
  torch::NoGradGuard ng;
  loaded.model->eval();
  auto input = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  auto logits = loaded.model->forward(input, torch::ones_like(input)).logits[0].to(torch::kFloat32).contiguous();
  if (!out.empty()) {
    write_npy_f32(out, logits.data_ptr<float>(), {logits.size(0), logits.size(1)});
    return 0;
  }
  const float* p = logits.data_ptr<float>();
  std::string buf;
  for (int64_t t = 0; t < logits.size(0); ++t) {
    buf.clear();
    for (int64_t v = 0; v < logits.size(1); ++v) {
      buf += fmt::format("{:.7g}", p[t * logits.size(1) + v]);
      buf += v + 1 < logits.size(1) ? ' ' : '\n';
    }
    std::fwrite(buf.data(), 1, buf.size(), stdout);
  }
  return 0;
}

int cmd_generate(const std::string& model_dir, const std::string& prompt, int64_t max_new, int64_t beams) {
  UNL_CHECK(max_new >= 1 && beams >= 1, "--max-new-tokens and --beams must be >= 1", "");
  auto loaded = model::load_pretrained(model_dir);
  auto tok = load_tokenizer("", model_dir, /*warn_builtin=*/false);
  auto ids = tok.encode(prompt);
  UNL_CHECK(!ids.empty(), "the prompt encodes to no tokens", "give a non-empty --prompt");
  torch::NoGradGuard ng;
  loaded.model->eval();
  auto input = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  model::GenerateOptions g;
  g.max_new_tokens = max_new;
  g.num_beams = beams;
  g.eos_token_id = loaded.config.eos_token_id;
  g.pad_token_id = loaded.config.eos_token_id;
  auto out = model::generate(*loaded.model, input, torch::ones_like(input), g).contiguous();
  std::vector<int64_t> gen(out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel());
  while (!gen.empty() && gen.back() == g.pad_token_id) gen.pop_back();
  std::cout << prompt << tok.decode(gen) << "\n";
  return 0;
}

int cmd_init(const std::string& family, const std::string& config_json, const std::string& out, int64_t seed) {
  const model::Family fam = model::parse_family(family);
  std::ifstream in(config_json);
  UNL_CHECK(in.good(), "cannot read '" + config_json + "'", "check the path");
  json j = json::parse(in, nullptr, false);
  UNL_CHECK(!j.is_discarded() && j.is_object(), "'" + config_json + "' is not a JSON object", "write a config.json");
  const char* type = fam == model::Family::kGptNeo ? "gpt_neo" : fam == model::Family::kGpt2 ? "gpt2" : "llama";
  if (!j.contains("model_type")) j["model_type"] = type;
  UNL_CHECK(j["model_type"] == type || fam == model::Family::kLlama,
            "'" + config_json + "' says model_type " + j["model_type"].dump() + " but --family is " + family,
            "make them agree, or drop model_type from the file");
  auto cfg = model::config_from_hf_json(j);
  torch::manual_seed(static_cast<uint64_t>(seed));
  auto m = model::make_causal_lm(cfg);
  const auto tok = model::Tokenizer::gpt2();
  std::string tok_dir;
  if (cfg.vocab_size >= tok.vocab_size()) {
    tok_dir = (fs::temp_directory_path() / fmt::format("unlearn-tok-{}", ::getpid())).string();
    tok.save(tok_dir);
  }
  model::save_pretrained(*m, out, tok_dir);
  if (!tok_dir.empty()) fs::remove_all(tok_dir);
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  fmt::print("wrote {} ({} model, {:.2f}M parameters, seed {})\n", out, family, params / 1e6, seed);
  return 0;
}

int cmd_inspect(const std::string& path_in) {
  std::string path = path_in;
  if (fs::is_directory(path)) {
    const fs::path dir = fs::exists(fs::path(path) / "checkpoints") ? fs::path(path) / "checkpoints" : fs::path(path);
    checkpoint::Directory d(dir.string(), 1000000);
    auto newest = d.newest_valid();
    UNL_CHECK(newest.has_value(), "no valid checkpoint in '" + dir.string() + "'",
              "pass a checkpoint file; corrupt ones are listed above");
    path = *newest;
  }
  auto summary = checkpoint::inspect(path);
  std::cout << checkpoint::format_summary(summary);
  return summary.ok() ? 0 : 1;
}

std::string example_job_toml() {
  return R"(# unlearn job: forget data/forget.jsonl from a GPT-Neo model with ICU.
# Every key and its default: `unlearn config --reference`. Relative paths are relative to this file.
[model]
path = "models/gpt-neo-125m"          # a Hugging Face directory (config.json + safetensors)

[data]
forget = "data/forget.jsonl"          # {"text": ...} per line, or .npy token arrays, or .h5
retain = "data/retain.jsonl"          # pool the analogous neighbours are mined from
heldout = "data/heldout.jsonl"        # optional: perplexity and threshold calibration
max_tokens = 200
# format = "qa"                       # question/answer lines (TOFU): losses and metrics on the answers

[method]
name = "icu"                          # icu | ga | graddiff | npo
w_forget = 1.0
w_learn = 0.5
w_kl = 1.0

[optim]
lr = 5e-6

[train]
batch_size = 8
max_epochs = 30

[thresholds]
mode = "fixed"                        # or "calibrate" on data.heldout
ma = 0.5994
el = 0.0499

[output]
dir = "out"
)";
}

}  // namespace unl::driver
