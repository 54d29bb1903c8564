// BertModel against an independent PyTorch implementation: tests/golden/bert/make_bert_golden.py
// builds a seeded random BERT (hidden 32, 3 layers, 4 heads, HF tensor names, saved as safetensors
// with a pooler and position_ids buffer to be ignored) and stores every hidden state of a
// right-padded batch of 16 texts. Also the checkpoint-name variants real models use and the
// errors for bad directories.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "model/bert.h"
#include "model/safetensors.h"

namespace unl::model {
namespace {

namespace fs = std::filesystem;
const std::string kFixture = std::string(UNL_SOURCE_DIR) + "/tests/golden/bert";

std::map<std::string, torch::Tensor> expected_outputs() {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : read_safetensors(kFixture + "/expected/outputs.safetensors")) out[name] = t;
  return out;
}

void expect_hidden_states_match(BertModelImpl& model) {
  auto e = expected_outputs();
  const auto& want = e.at("hidden_states");  // [layers + 1, N, T, H]
  torch::NoGradGuard no_grad;
  auto got = model.forward(e.at("input_ids"), e.at("attention_mask"));
  ASSERT_EQ(static_cast<int64_t>(got.size()), want.size(0));
  for (size_t l = 0; l < got.size(); ++l) {
    const double diff = (got[l] - want[static_cast<int64_t>(l)]).abs().max().item<double>();
    EXPECT_LT(diff, 1e-5) << "hidden state " << l;
  }
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("unl_bert_" + std::to_string(::getpid()) + "_" +
                                                  ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// A copy of the fixture whose weights are `tensors` and whose config.json is edited by `edit`.
void write_variant(const TempDir& dir, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                   const std::function<void(nlohmann::json&)>& edit = nullptr) {
  std::ifstream in(kFixture + "/config.json");
  auto config = nlohmann::json::parse(in);
  if (edit) edit(config);
  std::ofstream(dir.path() / "config.json") << config.dump();
  write_safetensors((dir.path() / "model.safetensors").string(), tensors);
}

TEST(BertModel, HiddenStatesMatchPyTorchReference) {
  auto loaded = load_bert(kFixture);
  EXPECT_EQ(loaded.config.hidden_size, 32);
  EXPECT_EQ(loaded.config.num_hidden_layers, 3);
  EXPECT_DOUBLE_EQ(loaded.config.layer_norm_eps, 1e-12);
  EXPECT_FALSE(loaded.model->is_training());
  expect_hidden_states_match(*loaded.model);
  // Stopping after k layers gives the first k + 1 states unchanged (BERTScore's layer cut).
  auto e = expected_outputs();
  torch::NoGradGuard no_grad;
  auto two = loaded.model->forward(e.at("input_ids"), e.at("attention_mask"), 2);
  ASSERT_EQ(two.size(), 3u);
  EXPECT_LT((two[2] - e.at("hidden_states")[2]).abs().max().item<double>(), 1e-5);
  // Unpadded single rows give the batch's values at their real positions.
  auto mask = e.at("attention_mask");
  for (int64_t r : {0, 4, 9}) {
    const int64_t n = mask[r].sum().item<int64_t>();
    auto one = loaded.model->forward(e.at("input_ids")[r].narrow(0, 0, n).unsqueeze(0), torch::Tensor());
    EXPECT_LT((one.back()[0] - e.at("hidden_states")[3][r].narrow(0, 0, n)).abs().max().item<double>(), 1e-5) << r;
  }
  EXPECT_THROW(loaded.model->forward(e.at("input_ids"), e.at("attention_mask"), 4), std::exception);
  EXPECT_THROW(loaded.model->forward(torch::zeros({1, 65}, torch::kInt64), torch::Tensor()), std::exception);
}

TEST(BertModel, LoadsPrefixedAndGammaBetaCheckpoints) {
  // BertForMaskedLM-style files: "bert." prefix, TF-era LayerNorm gamma/beta, an MLM head.
  TempDir dir;
  std::vector<std::pair<std::string, torch::Tensor>> renamed;
  for (auto& [name, t] : read_safetensors(kFixture + "/model.safetensors")) {
    std::string n = "bert." + name;
    if (n.size() > 16 && n.compare(n.size() - 16, 16, "LayerNorm.weight") == 0) n = n.substr(0, n.size() - 6) + "gamma";
    if (n.size() > 14 && n.compare(n.size() - 14, 14, "LayerNorm.bias") == 0) n = n.substr(0, n.size() - 4) + "beta";
    renamed.emplace_back(n, t);
  }
  renamed.emplace_back("cls.predictions.bias", torch::zeros({5}));
  write_variant(dir, renamed);
  expect_hidden_states_match(*load_bert(dir.path().string()).model);
}

TEST(BertModel, RejectsBadDirectoriesByName) {
  const auto weights = read_safetensors(kFixture + "/model.safetensors");
  auto message = [](const std::string& dir) {
    try {
      load_bert(dir);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  {  // a missing tensor
    TempDir dir;
    auto w = weights;
    w.erase(std::remove_if(w.begin(), w.end(), [](const auto& p) { return p.first == "encoder.layer.2.output.dense.bias"; }), w.end());
    write_variant(dir, w);
    EXPECT_NE(message(dir.path().string()).find("encoder.layer.2.output.dense.bias"), std::string::npos);
  }
  {  // a config claiming fewer layers than the file holds
    TempDir dir;
    write_variant(dir, weights, [](nlohmann::json& c) { c["num_hidden_layers"] = 2; });
    EXPECT_NE(message(dir.path().string()).find("encoder.layer.2"), std::string::npos);
  }
  {  // a wrong shape
    TempDir dir;
    write_variant(dir, weights, [](nlohmann::json& c) { c["intermediate_size"] = 48; });
    EXPECT_NE(message(dir.path().string()).find("intermediate.dense.weight"), std::string::npos);
  }
  {  // unsupported settings and a non-BERT config
    TempDir dir;
    write_variant(dir, weights, [](nlohmann::json& c) { c["position_embedding_type"] = "relative_key"; });
    EXPECT_NE(message(dir.path().string()).find("position_embedding_type"), std::string::npos);
    write_variant(dir, weights, [](nlohmann::json& c) { c["model_type"] = "gpt2"; });
    EXPECT_NE(message(dir.path().string()).find("not a BERT model"), std::string::npos);
    write_variant(dir, weights, [](nlohmann::json& c) { c["hidden_act"] = "swish"; });
    EXPECT_NE(message(dir.path().string()).find("hidden_act"), std::string::npos);
    write_variant(dir, weights, [](nlohmann::json& c) { c["num_attention_heads"] = 5; });
    EXPECT_NE(message(dir.path().string()).find("num_attention_heads"), std::string::npos);
  }
  EXPECT_NE(message("/nonexistent/bert").find("config"), std::string::npos);
}

}  // namespace
}  // namespace unl::model
