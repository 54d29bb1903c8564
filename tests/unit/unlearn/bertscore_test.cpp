// BERTScore and sentence embeddings against tests/golden/bert/make_bert_golden.py: an independent
// PyTorch BERT (seeded random weights, the fixture directory here), bert_score 0.3.13's
// greedy_cos_idf arithmetic with idf=False (batch sizes 1, 4 and 64, its padding zeros in the max,
// empty texts, a "[SEP]" text whose precision is NaN), and sentence-transformers' mean pooling with and without Normalize.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "model/safetensors.h"
#include "unlearn/bertscore.h"
#include "unlearn/sentence_embedding.h"

namespace unl::unlearn {
namespace {

const std::string kFixture = std::string(UNL_SOURCE_DIR) + "/tests/golden/bert";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::map<std::string, torch::Tensor> expected_outputs() {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : model::read_safetensors(kFixture + "/expected/outputs.safetensors")) out[name] = t;
  return out;
}

const BertEncoder& encoder() {
  static const BertEncoder e = load_bert_encoder(kFixture);
  return e;
}

TEST(BertEncoder, TokenizerAndModelAgreeWithReference) {
  const auto texts = read_json(kFixture + "/expected/texts.json");
  const auto e = expected_outputs();
  const auto& ids = e.at("input_ids");
  const auto& mask = e.at("attention_mask");
  for (size_t i = 0; i < texts["texts"].size(); ++i) {
    const auto got = encode_text(encoder(), texts["texts"][i].get<std::string>(), texts["hidden_max_length"]);
    const int64_t row = static_cast<int64_t>(i);
    const int64_t n = mask[row].sum().item<int64_t>();
    ASSERT_EQ(static_cast<int64_t>(got.size()), n) << i;
    for (int64_t k = 0; k < n; ++k) EXPECT_EQ(got[k], ids[row][k].item<int64_t>()) << i;
  }
  // Batched, length-grouped encoding equals the reference's padded batch at real positions.
  std::vector<std::vector<int64_t>> seqs;
  for (size_t i = 0; i < texts["texts"].size(); ++i)
    seqs.push_back(encode_text(encoder(), texts["texts"][i].get<std::string>(), texts["hidden_max_length"]));
  for (int64_t batch : {1, 3, 64}) {
    const auto states = encode_token_states(encoder(), seqs, -1, batch);
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto want = e.at("hidden_states")[3][static_cast<int64_t>(i)].narrow(0, 0, states[i].size(0));
      EXPECT_LT((states[i] - want).abs().max().item<double>(), 1e-5) << i << " batch " << batch;
    }
  }
}

TEST(BertScore, MatchesBertScoreReference) {
  const auto g = read_json(kFixture + "/expected/bertscore.json");
  const auto cands = g["candidates"].get<std::vector<std::string>>();
  const auto refs = g["references"].get<std::vector<std::string>>();
  // Layer 2 with batch sizes 4 and 64; layer 0 (negative best cosines) with 1 and 4, where
  // bert_score's padding zeros change the last pairs' scores.
  const std::vector<std::tuple<std::string, int, std::string>> runs = {
      {"scores", 2, "4"}, {"scores", 2, "64"}, {"layer0_scores", 0, "1"}, {"layer0_scores", 0, "4"}};
  for (const auto& [key, layers, batch] : runs) {
    BertScoreOptions o;
    o.num_layers = layers;
    o.batch_size = std::stoi(batch);
    const auto got = bert_score(encoder(), cands, refs, o);
    ASSERT_EQ(got.size(), cands.size());
    int nan = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& want = g[key][batch][i];
      const double values[3] = {got[i].precision, got[i].recall, got[i].f1};
      for (int k = 0; k < 3; ++k) {
        if (want[k].is_null()) {  // NaN in bert_score
          EXPECT_TRUE(std::isnan(values[k])) << i;
          ++nan;
        } else {
          EXPECT_NEAR(values[k], want[k].get<double>(), 1e-6) << key << " pair " << i << " score " << k << " batch " << batch;
        }
      }
    }
    EXPECT_EQ(nan, 1);  // the "[SEP]" candidate's precision
  }
  const size_t last = cands.size() - 2;  // the golden's padding-sensitive pair
  EXPECT_LT(g["layer0_scores"]["1"][last][0].get<double>(), 0.0);
  EXPECT_EQ(g["layer0_scores"]["4"][last][0].get<double>(), 0.0);
  // Identical texts score 1; empty candidate or reference 0; mismatched sizes are an error.
  BertScoreOptions two;
  two.num_layers = 2;
  const auto s = bert_score(encoder(), {"hello world", "", "hello"}, {"hello world", "hello", ""}, two);
  EXPECT_NEAR(s[0].f1, 1.0, 1e-6);
  EXPECT_EQ(s[1].f1, 0.0);
  EXPECT_EQ(s[2].precision, 0.0);
  EXPECT_THROW(bert_score(encoder(), {"a"}, {}), std::exception);
  BertScoreOptions too_deep;
  too_deep.num_layers = 4;
  EXPECT_THROW(bert_score(encoder(), {"a"}, {"b"}, too_deep), std::exception);
}

TEST(SentenceEmbedding, MeanPoolingAsSentenceTransformers) {
  const auto texts = read_json(kFixture + "/expected/texts.json")["texts"].get<std::vector<std::string>>();
  const auto e = expected_outputs();
  // The fixture is laid out as all-MiniLM-L6-v2: modules.json with Normalize, max_seq_length 16.
  auto o = sentence_embedding_options(kFixture, encoder());
  EXPECT_TRUE(o.normalize);
  EXPECT_EQ(o.max_length, 16);
  o.batch_size = 5;
  auto normalized = sentence_embeddings(encoder(), texts, o);
  EXPECT_LT((normalized - e.at("sentence_mean_normalized")).abs().max().item<double>(), 1e-5);
  EXPECT_LT((normalized.norm(2, 1) - 1).abs().max().item<double>(), 1e-5);
  o.normalize = false;
  auto mean = sentence_embeddings(encoder(), texts, o);
  EXPECT_LT((mean - e.at("sentence_mean")).abs().max().item<double>(), 1e-5);
  // A plain BERT directory (no modules.json): no normalisation, the tokenizer's length limit.
  const auto dir = std::filesystem::temp_directory_path() / ("unl_plain_bert_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    std::filesystem::copy_file(kFixture + "/" + f, dir / f, std::filesystem::copy_options::overwrite_existing);
  const auto plain = sentence_embedding_options(dir.string(), encoder());
  EXPECT_FALSE(plain.normalize);
  EXPECT_EQ(plain.max_length, 64);
  std::filesystem::create_directories(dir / "1_Pooling");
  std::ofstream(dir / "modules.json") << R"([{"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"}])";
  std::ofstream(dir / "1_Pooling" / "config.json") << R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false})";
  EXPECT_THROW(sentence_embedding_options(dir.string(), encoder()), std::exception);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace unl::unlearn
