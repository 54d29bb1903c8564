// Hugging Face directory save/load: round trips for each family, and the errors a user sees for a
// missing, misshapen or unexpected tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <fstream>

#include "common/error.h"
#include "model/hf_io.h"
#include "model/safetensors.h"
#include "nets_reference.h"

namespace unl::model {
namespace {

namespace fs = std::filesystem;
using testing::random_model;
using testing::tiny_config;

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (auto& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    path_ = fs::temp_directory_path() / ("unl_nets_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

/// The message of the unl::Error `f` throws ("" when it does not throw).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const torch::Tensor kIds = torch::tensor({3, 7, 1, 9, 4, 4, 2, 8}, torch::kLong).view({1, 8});

class HfIo : public ::testing::TestWithParam<Family> {};

TEST_P(HfIo, SaveThenLoadGivesIdenticalLogits) {
  TempDir dir;
  auto model = random_model(tiny_config(GetParam()), 21);
  save_pretrained(*model, dir.str());
  EXPECT_TRUE(fs::exists(dir.path() / "config.json"));
  SafetensorsFile file((dir.path() / "model.safetensors").string());
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.contains("lm_head.weight"), !model->config().tie_word_embeddings);

  auto loaded = load_pretrained(dir.str());
  EXPECT_EQ(loaded.config.family, GetParam());
  EXPECT_EQ(loaded.config.num_kv_heads, model->config().num_kv_heads);
  EXPECT_TRUE(torch::equal(model->forward(kIds, {}).logits, loaded.model->forward(kIds, {}).logits));

  auto bf16 = load_pretrained(dir.str(), torch::kBFloat16);
  for (auto& p : bf16.model->parameters()) ASSERT_EQ(p.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(bf16.model->forward(kIds, {}).logits.scalar_type(), torch::kFloat);
}

/// Saves a GPT-Neo, then rewrites its safetensors through `edit`.
template <typename Edit>
std::string load_error_after(Edit edit) {
  TempDir dir;
  auto model = random_model(tiny_config(Family::kGptNeo), 22);
  save_pretrained(*model, dir.str());
  auto tensors = hf_state_dict(*model);
  for (auto& t : tensors) t.second = t.second.detach();
  edit(tensors);
  write_safetensors((dir.path() / "model.safetensors").string(), tensors);
  return error_of([&] { load_pretrained(dir.str()); });
}

TEST(HfIoErrors, MissingTensorIsNamed) {
  const std::string name = "transformer.h.1.attn.attention.k_proj.weight";
  auto msg = load_error_after([&](auto& tensors) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [&](const auto& t) { return t.first == name; }),
                  tensors.end());
  });
  EXPECT_NE(msg.find(name), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 8]"), std::string::npos) << msg;
}

TEST(HfIoErrors, WrongShapeNamesTensorAndBothShapes) {
  const std::string name = "transformer.h.0.mlp.c_fc.weight";
  auto msg = load_error_after([&](auto& tensors) {
    for (auto& t : tensors) {
      if (t.first == name) t.second = torch::zeros({13, 8});
    }
  });
  EXPECT_NE(msg.find(name), std::string::npos) << msg;
  EXPECT_NE(msg.find("[13, 8]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[12, 8]"), std::string::npos) << msg;
}

TEST(HfIoErrors, UnexpectedTensorIsNamedButKnownBuffersAreNot) {
  auto msg = load_error_after([&](auto& tensors) {
    tensors.emplace_back("transformer.h.0.attn.attention.bias", torch::ones({1, 1, 4, 4}));
    tensors.emplace_back("transformer.h.1.attn.attention.masked_bias", torch::ones({}));
    tensors.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({2}));
    tensors.emplace_back("lm_head.weight", torch::zeros({11, 8}));  // tied: ignored
  });
  EXPECT_EQ(msg, "");
  msg = load_error_after([&](auto& tensors) {
    tensors.emplace_back("transformer.h.2.ln_1.weight", torch::ones({8}));
  });
  EXPECT_NE(msg.find("transformer.h.2.ln_1.weight"), std::string::npos) << msg;
}

// implied_parameter_shapes is what load_pretrained checks the files against before allocating;
// it must list exactly the parameters a built model has, for every family variant.
TEST(HfIoLimits, ImpliedShapesEqualTheBuiltModelsParameters) {
  std::vector<ModelConfig> configs;
  for (Family f : {Family::kGptNeo, Family::kGpt2, Family::kLlama}) {
    ModelConfig c = tiny_config(f);
    configs.push_back(c);
    c.tie_word_embeddings = !c.tie_word_embeddings;
    configs.push_back(c);
  }
  ModelConfig llama = tiny_config(Family::kLlama);
  llama.attention_bias = false, llama.qkv_bias = false;  // plain Llama / Mistral
  configs.push_back(llama);
  llama.qkv_bias = true, llama.model_type = "qwen2";  // Qwen2: q/k/v bias only
  configs.push_back(llama);
  for (const ModelConfig& c : configs) {
    std::map<std::string, std::vector<int64_t>> built, implied;
    for (auto& [name, t] : hf_state_dict(*make_causal_lm(c))) built[name] = t.sizes().vec();
    for (auto& [name, shape] : implied_parameter_shapes(c)) implied[name] = shape;
    EXPECT_EQ(implied, built) << family_name(c.family) << " tied=" << c.tie_word_embeddings
                              << " qkv_bias=" << c.qkv_bias;
  }
}

/// Saves a tiny model, then rewrites one integer of its config.json.
std::string load_error_with_config(Family family, const std::string& key, int64_t value) {
  TempDir dir;
  save_pretrained(*random_model(tiny_config(family), 25), dir.str());
  nlohmann::json j;
  std::ifstream((dir.path() / "config.json").string()) >> j;
  j[key] = value;
  std::ofstream((dir.path() / "config.json").string()) << j.dump();
  return error_of([&] { load_pretrained(dir.str()); });
}

// A config.json claiming a huge model next to small weights fails on the first tensor whose
// shape disagrees, before the model (4e6 x 1e5 floats here: 1.6 TB) is allocated.
TEST(HfIoLimits, HugeConfigNextToSmallWeightsFailsBeforeAllocating) {
  auto msg = load_error_with_config(Family::kGpt2, "n_embd", 100000);
  EXPECT_NE(msg.find("tensor 'transformer.wte.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[11, 8], but config.json implies [11, 100000]"), std::string::npos) << msg;
  msg = load_error_with_config(Family::kLlama, "vocab_size", 4000000);
  EXPECT_NE(msg.find("model.embed_tokens.weight' in '"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4000000, 16]"), std::string::npos) << msg;
  msg = load_error_with_config(Family::kLlama, "intermediate_size", 1000000);
  EXPECT_NE(msg.find("mlp.gate_proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1000000, 16]"), std::string::npos) << msg;
  // More layers than the files hold: the absent ones are listed, nothing is built.
  msg = load_error_with_config(Family::kLlama, "num_hidden_layers", 4000);
  EXPECT_NE(msg.find("lacks 51987 tensor(s) the config implies: 'model.layers.1.self_attn.q_proj.weight"),
            std::string::npos)
      << msg;
  // A GPT-2 context of 1e6 positions needs a [1000000, 8] wpe, not the [32, 8] stored.
  msg = load_error_with_config(Family::kGpt2, "n_positions", 1000000);
  EXPECT_NE(msg.find("tensor 'transformer.wpe.weight'"), std::string::npos) << msg;
}

// Past the hard caps the config itself is refused, naming the file, the field and the limit.
TEST(HfIoLimits, ConfigIntegersBeyondTheCapsAreRefused) {
  auto msg = load_error_with_config(Family::kLlama, "hidden_size", 10000000);
  EXPECT_NE(msg.find("config.json: model config: hidden_size 10000000 exceeds the limit of 131072"),
            std::string::npos)
      << msg;
  msg = load_error_with_config(Family::kLlama, "vocab_size", 1000000000);
  EXPECT_NE(msg.find("vocab_size 1000000000 exceeds the limit of 16777216"), std::string::npos) << msg;
  msg = load_error_with_config(Family::kGpt2, "n_layer", 100000);
  EXPECT_NE(msg.find("num_layers 100000 exceeds the limit of 4096"), std::string::npos) << msg;
  msg = load_error_with_config(Family::kLlama, "intermediate_size", int64_t{1} << 40);
  EXPECT_NE(msg.find("intermediate_size 1099511627776 exceeds the limit of 1048576"), std::string::npos) << msg;
  msg = load_error_with_config(Family::kLlama, "max_position_embeddings", int64_t{1} << 30);
  EXPECT_NE(msg.find("max_position_embeddings 1073741824 exceeds the limit of 16777216"), std::string::npos)
      << msg;
}

TEST(HfIoErrors, BaseModelNamesWithoutPrefixLoad) {
  // The original "gpt2" checkpoint stores "h.0.attn.c_attn.weight", "wte.weight", ...
  TempDir dir;
  auto model = random_model(tiny_config(Family::kGpt2), 23);
  save_pretrained(*model, dir.str());
  auto tensors = hf_state_dict(*model);
  for (auto& t : tensors) t = {t.first.substr(std::string("transformer.").size()), t.second.detach()};
  write_safetensors((dir.path() / "model.safetensors").string(), tensors);
  auto loaded = load_pretrained(dir.str());
  EXPECT_TRUE(torch::equal(model->forward(kIds, {}).logits, loaded.model->forward(kIds, {}).logits));
}

TEST(HfIoErrors, TokenizerFilesAreCopied) {
  TempDir src, out;
  std::ofstream(src.path() / "vocab.json") << "{\"a\": 0}";
  std::ofstream(src.path() / "merges.txt") << "#version: 0.2\n";
  auto model = random_model(tiny_config(Family::kGptNeo), 24);
  save_pretrained(*model, out.str(), src.str());
  std::ifstream f(out.path() / "vocab.json");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"a\": 0}");
  EXPECT_TRUE(fs::exists(out.path() / "merges.txt"));
  TempDir empty;
  EXPECT_NE(error_of([&] { save_pretrained(*model, out.str(), empty.str()); }).find("tokenizer"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Families, HfIo,
                         ::testing::Values(Family::kGptNeo, Family::kGpt2, Family::kLlama),
                         [](const auto& info) { return std::string(testing::family_label(info.param)); });

}  // namespace
}  // namespace unl::model
