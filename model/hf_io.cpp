// Hugging Face model directories in and out: config.json + (sharded) safetensors checked tensor
// by tensor against what the config implies, and a save that transformers loads back.
#include "model/hf_io.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "model/safetensors.h"

namespace unl::model {

namespace fs = std::filesystem;

namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Buffers transformers writes (or wrote in older versions) that are not parameters: the causal
/// masks of GPT-2 ("h.0.attn.bias") and GPT-Neo ("h.0.attn.attention.bias"), and RoPE's inv_freq.
bool is_known_buffer(const std::string& name) {
  for (const char* suffix : {".attn.bias", ".attn.masked_bias", ".attn.attention.bias",
                             ".attn.attention.masked_bias", "rotary_emb.inv_freq"}) {
    if (ends_with(name, suffix)) return true;
  }
  return false;
}

std::string list(const std::vector<std::string>& names, size_t max_shown = 6) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) s += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > max_shown) s += fmt::format(" and {} more", names.size() - max_shown);
  return s;
}

/// The file's name for one of our parameters: the same, or without the base-model prefix
/// (the original "gpt2" checkpoint stores "h.0.attn.c_attn.weight", not "transformer.h...").
std::string file_name_for(const SafetensorsModel& weights, const std::string& name) {
  if (weights.contains(name)) return name;
  for (const std::string prefix : {"transformer.", "model."}) {
    if (name.rfind(prefix, 0) == 0 && weights.contains(name.substr(prefix.size()))) {
      return name.substr(prefix.size());
    }
  }
  return "";
}

/// Write through a temp file and rename, so a crash never leaves a half-written file.
void write_file_atomic(const fs::path& path, const std::string& data) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    UNL_CHECK(f.good(), "cannot open " + tmp.string() + " for writing",
              "check the output directory is writable and the disk not full");
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    f.flush();
    UNL_CHECK(f.good(), "writing " + tmp.string() + " failed", "check free disk space");
  }
  fs::rename(tmp, path);
}

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kBFloat16: return "bfloat16";
    case torch::kHalf: return "float16";
    default: return "float32";
  }
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> implied_parameter_shapes(
    const ModelConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  const int64_t e = c.hidden_size, m = c.intermediate_size, v = c.vocab_size;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    out.emplace_back(name, std::move(shape));
  };
  if (c.family == Family::kLlama) {
    const int64_t d = c.head_dim(), q = c.num_heads * d, kv = c.num_kv_heads * d;
    add("model.embed_tokens.weight", {v, e});
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      add(p + "self_attn.q_proj.weight", {q, e});
      if (c.qkv_bias) add(p + "self_attn.q_proj.bias", {q});
      add(p + "self_attn.k_proj.weight", {kv, e});
      if (c.qkv_bias) add(p + "self_attn.k_proj.bias", {kv});
      add(p + "self_attn.v_proj.weight", {kv, e});
      if (c.qkv_bias) add(p + "self_attn.v_proj.bias", {kv});
      add(p + "self_attn.o_proj.weight", {e, q});
      if (c.attention_bias) add(p + "self_attn.o_proj.bias", {e});
      add(p + "mlp.gate_proj.weight", {m, e});
      add(p + "mlp.up_proj.weight", {m, e});
      add(p + "mlp.down_proj.weight", {e, m});
      add(p + "input_layernorm.weight", {e});
      add(p + "post_attention_layernorm.weight", {e});
    }
    add("model.norm.weight", {e});
  } else {
    const bool gpt2 = c.family == Family::kGpt2;
    add("transformer.wte.weight", {v, e});
    add("transformer.wpe.weight", {c.max_position_embeddings, e});
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "transformer.h." + std::to_string(i) + ".";
      add(p + "ln_1.weight", {e});
      add(p + "ln_1.bias", {e});
      if (gpt2) {  // Conv1D stores weights [in, out]
        add(p + "attn.c_attn.weight", {e, 3 * e});
        add(p + "attn.c_attn.bias", {3 * e});
        add(p + "attn.c_proj.weight", {e, e});
        add(p + "attn.c_proj.bias", {e});
      } else {
        for (const char* proj : {"q_proj", "k_proj", "v_proj"})
          add(p + "attn.attention." + proj + ".weight", {e, e});
        add(p + "attn.attention.out_proj.weight", {e, e});
        add(p + "attn.attention.out_proj.bias", {e});
      }
      add(p + "ln_2.weight", {e});
      add(p + "ln_2.bias", {e});
      add(p + "mlp.c_fc.weight", gpt2 ? std::vector<int64_t>{e, m} : std::vector<int64_t>{m, e});
      add(p + "mlp.c_fc.bias", {m});
      add(p + "mlp.c_proj.weight", gpt2 ? std::vector<int64_t>{m, e} : std::vector<int64_t>{e, m});
      add(p + "mlp.c_proj.bias", {e});
    }
    add("transformer.ln_f.weight", {e});
    add("transformer.ln_f.bias", {e});
  }
  if (!c.tie_word_embeddings) add("lm_head.weight", {v, e});
  return out;
}

LoadedModel load_pretrained(const std::string& dir, torch::Dtype dtype, torch::Device device) {
  const fs::path config_path = fs::path(dir) / "config.json";
  UNL_CHECK(fs::exists(config_path), "no config.json in model directory '" + dir + "'",
            "pass a Hugging Face model directory (config.json + model.safetensors)");
  LoadedModel out;
  out.dir = dir;
  out.config = load_hf_config(config_path.string());
  SafetensorsModel weights(dir);
  // Check the config against the safetensors headers (memory-mapped, nothing read yet) before
  // building the model: the parameters it allocates are then bounded by what the files hold.
  {
    std::vector<std::string> absent;
    for (const auto& [name, shape] : implied_parameter_shapes(out.config)) {
      const std::string key = file_name_for(weights, name);
      if (key.empty()) {
        absent.push_back(name + " " + shape_str(shape));
        continue;
      }
      const auto& info = weights.info(key);
      UNL_CHECK(info.shape == shape,
                fmt::format("tensor '{}' in '{}' has shape {}, but config.json implies {}", key, dir,
                            shape_str(info.shape), shape_str(shape)),
                "the weights do not belong to this config.json (check hidden_size, num_layers, "
                "vocab_size, intermediate_size, max_position_embeddings, num_key_value_heads)");
    }
    UNL_CHECK(absent.empty(),
              fmt::format("'{}' lacks {} tensor(s) the config implies: {}", dir, absent.size(),
                          list(absent)),
              "the checkpoint is incomplete, belongs to another architecture, or config.json "
              "claims more layers than the weights hold (num_layers); re-save it with "
              "transformers' save_pretrained");
  }
  out.model = make_causal_lm(out.config);

  std::vector<std::string> missing;
  std::set<std::string> used;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, param] : hf_state_dict(*out.model)) {
      const std::string key = file_name_for(weights, name);
      if (key.empty()) {
        missing.push_back(name + " " + shape_str(param.sizes().vec()));
        continue;
      }
      const auto& info = weights.info(key);
      UNL_CHECK(info.shape == param.sizes().vec(),
                fmt::format("tensor '{}' in '{}' has shape {}, but config.json implies {}", key, dir,
                            shape_str(info.shape), shape_str(param.sizes().vec())),
                "the weights do not belong to this config.json (check hidden_size, num_layers, "
                "vocab_size, num_key_value_heads)");
      // Adopt the loaded tensor instead of copying into the freshly initialised one.
      param.set_data(weights.tensor(key, dtype));
      used.insert(key);
    }
  }
  UNL_CHECK(missing.empty(),
            fmt::format("'{}' lacks {} tensor(s) the config implies: {}", dir, missing.size(),
                        list(missing)),
            "the checkpoint is incomplete or belongs to another architecture; re-save it with "
            "transformers' save_pretrained");
  std::vector<std::string> unexpected;
  for (const auto& name : weights.names()) {
    if (used.count(name) || is_known_buffer(name)) continue;
    // A tied lm_head stored anyway is the embedding again; transformers ignores it too.
    if (name == "lm_head.weight" && out.config.tie_word_embeddings) continue;
    unexpected.push_back(name);
  }
  UNL_CHECK(unexpected.empty(),
            fmt::format("'{}' holds {} tensor(s) the {} config does not use: {}", dir,
                        unexpected.size(), family_name(out.config.family), list(unexpected)),
            "check model_type and num_layers in config.json match the weights");
  out.model->to(device);
  return out;
}

void save_pretrained(CausalLMImpl& model, const std::string& out_dir,
                     const std::string& tokenizer_dir) {
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  UNL_CHECK(!ec, "cannot create model directory '" + out_dir + "': " + ec.message(),
            "check the path and permissions");

  auto tensors = hf_state_dict(model);
  for (auto& item : tensors) item.second = item.second.detach();
  ModelConfig config = model.config();
  if (!tensors.empty()) config.torch_dtype = dtype_name(tensors.front().second.scalar_type());
  write_file_atomic(dir / "config.json", config_to_hf_json(config).dump(2) + "\n");
  // A stale shard index would make loaders ignore the new single file.
  fs::remove(dir / "model.safetensors.index.json", ec);
  write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});

  if (tokenizer_dir.empty()) return;
  const fs::path src(tokenizer_dir);
  const bool has_bpe = fs::exists(src / "vocab.json") && fs::exists(src / "merges.txt");
  UNL_CHECK(has_bpe || fs::exists(src / "tokenizer.json"),
            "tokenizer directory '" + tokenizer_dir + "' has neither vocab.json + merges.txt nor "
            "tokenizer.json",
            "pass the directory the model was loaded from, or save the tokenizer there first");
  for (const char* file : {"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json"}) {
    if (!fs::exists(src / file)) continue;
    if (fs::exists(dir / file) && fs::equivalent(src / file, dir / file)) continue;
    const fs::path tmp = (dir / file).string() + ".tmp";
    fs::copy_file(src / file, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, dir / file);
  }
}

}  // namespace unl::model
