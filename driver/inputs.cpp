// Loading the job's inputs: tokenizer choice, data sets through unl::data, device selection.
#include "driver/inputs.h"

#include <algorithm>
#include <filesystem>

#include "comm/messages.h"
#include "common/common.h"
#include "common/hash.h"
#include "data/data.h"
#include "model/tokenizer.h"

#include <nlohmann/json.hpp>

namespace unl::driver {
namespace fs = std::filesystem;

namespace {
TokenSet to_token_set(const std::string& path, std::vector<data::Sample> samples) {
  TokenSet set;
  set.path = path;
  set.hash = data::dataset_hash(samples);
  for (auto& s : samples) {
    set.ids.push_back(s.id);
    set.tokens.push_back(std::move(s.tokens));
    set.texts.push_back(std::move(s.text));
    set.prompt_lens.push_back(s.prompt_len);
  }
  return set;
}
}  // namespace

model::Tokenizer load_tokenizer(const std::string& explicit_dir, const std::string& model_dir, bool warn_builtin) {
  if (!explicit_dir.empty()) return model::Tokenizer::from_dir(explicit_dir);
  const fs::path dir = model_dir;
  if (!model_dir.empty() && (fs::exists(dir / "vocab.json") || fs::exists(dir / "tokenizer.json") ||
                             fs::exists(dir / "tokenizer.model")))
    return model::Tokenizer::from_dir(model_dir);
  if (warn_builtin) log::warn("no tokenizer files in {}; using the built-in GPT-2 vocabulary", model_dir);
  return model::Tokenizer::gpt2();
}

data::DataSpec data_spec(const DataConfig& cfg, const std::string& path, int64_t limit) {
  data::DataSpec spec;
  spec.path = path;
  spec.format = cfg.format;
  spec.text_field = cfg.text_field;
  spec.h5_dataset = cfg.h5_dataset;
  spec.col_begin = cfg.col_begin;
  spec.col_end = cfg.col_end;
  spec.max_tokens = cfg.max_tokens;
  spec.limit = limit;
  spec.prompt_field = cfg.prompt_field;
  spec.response_field = cfg.response_field;
  spec.separator = cfg.separator;
  return spec;
}

TokenSet load_token_set(const DataConfig& cfg, const std::string& path, const model::Tokenizer& tok,
                        int64_t vocab_size, int64_t limit) {
  const data::DataSpec spec = data_spec(cfg, path, limit);
  auto samples = data::load_samples_encoded(spec, text_encoder(cfg, tok), vocab_size);
  return to_token_set(spec.path, std::move(samples));
}

data::TextEncoder text_encoder(const DataConfig& cfg, const model::Tokenizer& tok) {
  data::TextEncoder encoder;
  encoder.tokenize = [&tok](std::string_view t) { return tok.encode(t); };
  if (uses_chat_template(cfg, tok)) {
    encoder.render_chat = [&tok](const std::vector<data::Message>& messages, bool add_generation_prompt) {
      nlohmann::ordered_json j = nlohmann::ordered_json::array();
      for (const auto& m : messages) j.push_back({{"role", m.role}, {"content", m.content}});
      return tok.apply_chat_template(j, add_generation_prompt);
    };
    // The template writes the special tokens (BOS, headers): the encode adds none.
    encoder.tokenize_rendered = [&tok](std::string_view t) { return tok.encode(t, false); };
  }
  return encoder;
}

eval::QaEncodeFn qa_encoder(const DataConfig& cfg, const model::Tokenizer& tok) {
  return [encoder = text_encoder(cfg, tok), separator = cfg.separator](const std::string& question, const std::string& answer) {
    const auto s = data::encode_prompt_response({{"user", question}, {"assistant", answer}}, encoder, separator, "question/answer");
    return eval::QaTokens{s.tokens, s.prompt_len};
  };
}

bool uses_chat_template(const DataConfig& cfg, const model::Tokenizer& tok) {
  return cfg.chat_template == "auto" && tok.has_chat_template();
}

TokenSet load_token_set_path(const std::string& path, const model::Tokenizer& tok, int64_t vocab_size,
                             int64_t max_tokens) {
  DataConfig defaults;  // its format options are data::DataSpec's defaults
  defaults.max_tokens = max_tokens;
  const data::DataSpec spec = data_spec(defaults, path);
  auto samples = data::load_samples(spec, [&tok](std::string_view t) { return tok.encode(t); }, vocab_size);
  return to_token_set(path, std::move(samples));
}

std::string model_dir_fingerprint(const std::string& dir) {
  // config.json by content; the (large) weight files by name and size, which a truncated or
  // different-version copy changes, without reading gigabytes on every rank.
  Hasher h;
  std::vector<std::pair<std::string, uintmax_t>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) files.emplace_back(e.path().filename().string(), e.file_size(ec));
  std::sort(files.begin(), files.end());
  for (const auto& [name, size] : files) {
    h.update(name.data(), name.size());
    h.update(&size, sizeof size);
    if (name == "config.json") {
      const uint64_t c = hash_file((fs::path(dir) / name).string());
      h.update(&c, sizeof c);
    }
  }
  return hex64(h.digest());
}

namespace {
// (what, this rank's path, fingerprint) for each input.
using Fingerprints = std::vector<std::vector<std::string>>;

std::string tokenizer_fingerprint(const model::Tokenizer& tok) {
  const auto ids = tok.encode("Unlearn: the quick brown fox, 1234 \u00e9t\u00e9 <|endoftext|> r\u00e9sum\u00e9s\n");
  Hasher h;
  const int64_t n = tok.vocab_size();
  h.update(&n, sizeof n);
  h.update(ids.data(), ids.size() * sizeof(int64_t));
  return hex64(h.digest());
}
}  // namespace

void check_inputs_agree(comm::Communicator& comm, const JobConfig& cfg, const model::Tokenizer& tok,
                        const std::vector<const TokenSet*>& sets) {
  if (comm.size() == 1) return;
  const std::string model_dir = cfg.model.path;
  Fingerprints mine = {{"model.path", model_dir, model_dir_fingerprint(model_dir)},
                       {"tokenizer", cfg.model.tokenizer.empty() ? model_dir : cfg.model.tokenizer,
                        tokenizer_fingerprint(tok)}};
  for (const TokenSet* set : sets)
    if (set && !set->path.empty())
      mine.push_back({"data set", set->path, set->hash + " (" + std::to_string(set->size()) + " rows)"});
  auto all = comm::gather_objects(comm, mine);
  std::string problems;
  if (comm.rank() == 0) {
    for (size_t r = 1; r < all.size(); ++r) {
      for (size_t i = 0; i < std::max(all[r].size(), mine.size()); ++i) {
        if (i < all[r].size() && i < mine.size() && all[r][i][0] == mine[i][0] && all[r][i][2] == mine[i][2]) continue;
        const auto& theirs = i < all[r].size() ? all[r][i] : std::vector<std::string>{"(none)", "(none)", "(none)"};
        const auto& ours = i < mine.size() ? mine[i] : std::vector<std::string>{"(none)", "(none)", "(none)"};
        problems += "\n  rank " + std::to_string(r) + ": " + theirs[0] + " '" + theirs[1] + "' [" + theirs[2] +
                    "] differs from rank 0's '" + ours[1] + "' [" + ours[2] + "]";
      }
    }
  }
  comm::broadcast_object(comm, problems);
  UNL_CHECK(problems.empty(), "the ranks read different inputs:" + problems,
            "every rank reads the inputs itself: give all nodes the same files (a shared filesystem, or "
            "identical copies at the same paths); the lines above name the ranks with a different copy");
}

torch::Device select_device(const std::string& wanted, int local_rank) {
  const bool have = torch::cuda::is_available();
  if (wanted == "cuda") {
    UNL_CHECK(have, "runtime.device = \"cuda\" but no CUDA device is visible to this process",
              "check CUDA_VISIBLE_DEVICES / --gpus-per-task, or use runtime.device = \"cpu\"");
  }
  if (wanted == "cpu" || !have) return torch::kCPU;
  const int count = static_cast<int>(torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
}

}  // namespace unl::driver
