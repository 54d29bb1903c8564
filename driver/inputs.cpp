// Loading the job's inputs: tokenizer choice, data sets through unl::data, device selection.
#include "driver/inputs.h"

#include <filesystem>

#include "common/common.h"
#include "data/data.h"

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
  }
  return set;
}
}  // namespace

model::Tokenizer load_tokenizer(const JobConfig& cfg) {
  const std::string explicit_dir = cfg.get_string("model.tokenizer");
  if (!explicit_dir.empty()) return model::Tokenizer::from_dir(explicit_dir);
  const fs::path model_dir = cfg.get_string("model.path");
  if (fs::exists(model_dir / "vocab.json") || fs::exists(model_dir / "tokenizer.json"))
    return model::Tokenizer::from_dir(model_dir.string());
  log::warn("no tokenizer files in {}; using the built-in GPT-2 vocabulary", model_dir.string());
  return model::Tokenizer::gpt2();
}

TokenSet load_token_set(const JobConfig& cfg, const std::string& key, const model::Tokenizer& tok, int64_t vocab_size,
                        int64_t limit) {
  data::DataSpec spec;
  spec.path = cfg.get_string(key);
  spec.format = cfg.get_string("data.format");
  spec.text_field = cfg.get_string("data.text_field");
  spec.h5_dataset = cfg.get_string("data.h5_dataset");
  spec.col_begin = cfg.get_int("data.col_begin");
  spec.col_end = cfg.get_int("data.col_end");
  spec.max_tokens = cfg.get_int("data.max_tokens");
  spec.limit = limit;
  auto samples = data::load_samples(spec, [&tok](std::string_view t) { return tok.encode(t); }, vocab_size);
  return to_token_set(spec.path, std::move(samples));
}

TokenSet load_token_set_path(const std::string& path, const model::Tokenizer& tok, int64_t vocab_size,
                             int64_t max_tokens) {
  data::DataSpec spec;
  spec.path = path;
  spec.max_tokens = max_tokens;
  auto samples = data::load_samples(spec, [&tok](std::string_view t) { return tok.encode(t); }, vocab_size);
  return to_token_set(path, std::move(samples));
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
