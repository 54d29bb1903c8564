// Every evaluation task sharded over N ranks (mpiexec -n 2 / 3) gives exactly what one process
// computing every batch itself gives (the 1-rank result): ranks take whole batches of a plan that
// does not depend on the world size. Runs the example task files of examples/eval on a tiny
// random GPT-Neo, with a second random model as the MIA reference, and the TOFU tasks on the
// question/answer rows of examples/tofu-like (log-likelihood and generation requests in one task).
#include <gtest/gtest.h>
#include <unistd.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "driver/eval_tasks.h"
#include "driver/inputs.h"
#include "tests/mpi/fixture.h"

namespace {
unl::model::CausalLM tiny_model(uint64_t seed) {
  auto c = unl::mpi_testing::tiny_gpt_neo_config(128, 16);
  c.eos_token_id = 50256;
  torch::manual_seed(seed);
  auto m = unl::model::make_causal_lm(c);
  m->eval();
  return m;
}

std::vector<std::vector<int64_t>> encode_lines(const unl::model::Tokenizer& tok, const std::string& file) {
  std::vector<std::vector<int64_t>> out;
  std::ifstream in(std::string(UNL_SOURCE_DIR) + "/examples/eval/" + file);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(tok.encode(nlohmann::json::parse(line)["text"].get<std::string>()));
  return out;
}

std::vector<std::unique_ptr<unl::eval::Task>> example_tasks(const unl::model::Tokenizer& tok) {
  const std::string dir = std::string(UNL_SOURCE_DIR) + "/examples/eval/";
  unl::eval::TaskOptions o;
  o.max_length = 128;
  o.ppl_window = 24;  // several windows, the last one short
  o.reply_tokens = 8;
  o.retain_auc = 0.5;
  std::vector<std::unique_ptr<unl::eval::Task>> tasks;
  for (const auto& s : unl::eval::parse_task_list("choice=" + dir + "choice.jsonl,lambada=" + dir + "lambada.jsonl,dialogue=" +
                                                  dir + "dialogue.jsonl,ppl=" + dir + "ppl.jsonl"))
    tasks.push_back(unl::eval::make_file_task(s, tok, o));
  tasks.push_back(unl::eval::make_mia_task("mia", encode_lines(tok, "forget.jsonl"), encode_lines(tok, "heldout.jsonl"), tok, o));
  return tasks;
}

// TOFU forget / retain / options tasks over examples/tofu-like, rendered as data.format = qa
// renders them (GPT-2 has no chat template: question + "\n" + answer). `retain_eval`: a file of
// retain-model truth ratios for forget quality.
std::vector<std::unique_ptr<unl::eval::Task>> tofu_tasks(const unl::model::Tokenizer& tok, const std::string& retain_eval) {
  const std::string dir = std::string(UNL_SOURCE_DIR) + "/examples/tofu-like/";
  unl::eval::TaskOptions o;
  o.max_length = 128;
  o.answer_tokens = 6;
  o.retain_eval = retain_eval;
  unl::driver::DataConfig dc;
  const auto encode = unl::driver::qa_encoder(dc, tok);
  const unl::eval::DecodeFn decode = [&tok](const std::vector<int64_t>& ids) { return tok.decode(ids, true, false); };
  std::vector<std::unique_ptr<unl::eval::Task>> tasks;
  for (const auto& s : unl::eval::parse_task_list("tofu=" + dir + "forget.jsonl,tofu_retain=" + dir + "retain.jsonl,tofu_options:ra=" +
                                                  dir + "retain.jsonl"))
    tasks.push_back(unl::eval::make_tofu_task(s, encode, decode, o));
  return tasks;
}

TEST(ShardedEval, TofuIsIdenticalOnOneAndNRanks) {
  auto comm = unl::mpi_testing::world();
  ASSERT_GT(comm->size(), 1);
  const auto tok = unl::model::Tokenizer::gpt2();
  auto model = tiny_model(5);
  // A retain model's eval.json, each rank its own copy of the same content.
  const auto retain_eval = (std::filesystem::temp_directory_path() /
                            ("tofu_retain_" + std::to_string(::getpid()) + "_" + std::to_string(comm->rank()) + ".json")).string();
  std::ofstream(retain_eval) << R"({"forget_truth_ratio": {"agg_value": 0.5, "value_by_index": {"0": {"score": 0.8},
      "1": {"score": 1.3}, "2": {"score": 0.4}, "3": {"score": 2.0}, "4": {"score": 1.0}}}})";
  const auto tasks = tofu_tasks(tok, retain_eval);
  std::filesystem::remove(retain_eval);
  unl::eval::RunnerOptions ro;
  ro.batch_size = 3;
  ro.pad_token_id = 50256;
  ro.eos_token_id = 50256;
  auto sharded = unl::driver::evaluate_tasks(*comm, *model, nullptr, tasks, ro);
  unl::comm::LocalCommunicator local;
  auto single = unl::driver::evaluate_tasks(local, *model, nullptr, tasks, ro);
  std::string a = comm->rank() == 0 ? unl::eval::results_json(sharded).dump() : "";
  const std::string b = unl::eval::results_json(single).dump();
  unl::comm::broadcast_object(*comm, a);
  EXPECT_EQ(a, b) << "sharded and single-process TOFU results differ";
  if (comm->rank() != 0) return;
  auto j = unl::eval::results_json(single);
  for (const char* m : {"forget_Q_A_Prob", "forget_Q_A_PARA_Prob", "forget_Q_A_PERT_Prob", "forget_truth_ratio", "forget_Q_A_ROUGE",
                        "forget_quality", "retain_Q_A_Prob", "retain_truth_ratio", "retain_Q_A_ROUGE", "ra_Q_A_Prob_normalised",
                        "ra_truth_ratio", "model_utility"})
    EXPECT_TRUE(j.contains(m)) << m;
  EXPECT_EQ(j["forget_Q_A_Prob"]["value_by_index"].size(), 8u);
  EXPECT_EQ(j["retain_Q_A_PERT_Prob"]["value_by_index"]["3"]["prob"].size(), 3u);
  EXPECT_EQ(j["model_utility"]["components"].size(), 6u);
  // Answer probability of row 0, recomputed with one unpadded forward over question + "\n" + answer.
  std::ifstream in(std::string(UNL_SOURCE_DIR) + "/examples/tofu-like/forget.jsonl");
  std::string line;
  std::getline(in, line);
  const auto row = nlohmann::json::parse(line);
  const auto full = tok.encode(row["question"].get<std::string>() + "\n" + row["answer"].get<std::string>());
  const auto prompt = tok.encode(row["question"].get<std::string>() + "\n");
  size_t p = 0;
  while (p < prompt.size() && prompt[p] == full[p]) ++p;
  auto ids = torch::tensor(full).unsqueeze(0);
  torch::NoGradGuard ng;
  auto lp = torch::log_softmax(model->forward(ids, torch::ones_like(ids)).logits[0].to(torch::kDouble), -1);
  double sum = 0;
  for (size_t t = p; t < full.size(); ++t) sum += lp[t - 1][full[t]].item<double>();
  const double want = std::exp(sum / static_cast<double>(full.size() - p));
  EXPECT_NEAR(j["forget_Q_A_Prob"]["value_by_index"]["0"]["prob"].get<double>(), want, 1e-6);
}

TEST(ShardedEval, EveryTaskIsIdenticalOnOneAndNRanks) {
  auto comm = unl::mpi_testing::world();
  ASSERT_GT(comm->size(), 1);
  const auto tok = unl::model::Tokenizer::gpt2();
  auto model = tiny_model(5), reference = tiny_model(6);
  const auto tasks = example_tasks(tok);
  unl::eval::RunnerOptions ro;
  ro.batch_size = 3;  // several batches per task, so ranks really split the work
  ro.pad_token_id = 50256;
  ro.eos_token_id = 50256;
  ro.max_new_tokens = 8;
  auto sharded = unl::driver::evaluate_tasks(*comm, *model, reference.get(), tasks, ro);
  // The 1-rank result: this process alone, every batch.
  unl::comm::LocalCommunicator local;
  auto single = unl::driver::evaluate_tasks(local, *model, reference.get(), tasks, ro);
  std::string a = comm->rank() == 0 ? unl::eval::results_json(sharded).dump() : "";
  const std::string b = unl::eval::results_json(single).dump();
  unl::comm::broadcast_object(*comm, a);
  EXPECT_EQ(a, b) << "sharded and single-process eval.json differ";
  if (comm->rank() != 0) {
    EXPECT_TRUE(sharded.empty());
    return;
  }
  // What the run must contain, with values in range.
  auto j = unl::eval::results_json(single);
  for (const char* m : {"choice_acc", "choice_acc_norm", "lambada_acc", "dialogue_f1", "ppl_ppl", "mia_loss", "mia_zlib",
                        "mia_min_k", "mia_min_k_plus_plus", "mia_reference", "exact_memorization", "extraction_strength",
                        "privleak"})
    EXPECT_TRUE(j.contains(m)) << m;
  EXPECT_EQ(j["choice_acc"]["value_by_index"].size(), 8u);
  EXPECT_EQ(j["mia_loss"]["forget"]["value_by_index"].size(), 6u);
  EXPECT_EQ(j["mia_loss"]["holdout"]["value_by_index"].size(), 5u);
  const double auc = j["mia_min_k"]["agg_value"].get<double>();
  EXPECT_GE(auc, 0.0);
  EXPECT_LE(auc, 1.0);
  EXPECT_NEAR(j["privleak"]["agg_value"].get<double>(), (auc - 0.5) / 0.5 * 100, 1e-9);
  // Each choice's log-likelihood, recomputed here with one unpadded forward per choice.
  std::ifstream in(std::string(UNL_SOURCE_DIR) + "/examples/eval/choice.jsonl");
  std::string line;
  for (int d = 0; std::getline(in, line); ++d) {
    const auto doc = nlohmann::json::parse(line);
    const auto ctx = tok.encode(doc["context"].get<std::string>());
    const auto& got = j["choice_acc"]["value_by_index"][std::to_string(d)];
    for (size_t c = 0; c < doc["choices"].size(); ++c) {
      const auto cont = tok.encode(doc["choices"][c].get<std::string>(), false);
      std::vector<int64_t> full = ctx;
      full.insert(full.end(), cont.begin(), cont.end());
      auto ids = torch::tensor(full).unsqueeze(0);
      torch::NoGradGuard ng;
      auto lp = torch::log_softmax(model->forward(ids, torch::ones_like(ids)).logits[0].to(torch::kDouble), -1);
      double want = 0;
      for (size_t t = ctx.size(); t < full.size(); ++t) want += lp[t - 1][full[t]].item<double>();
      EXPECT_NEAR(got["logprobs"][c].get<double>(), want, 1e-4) << "item " << d << " choice " << c;
    }
  }
  // A random model over a 50k vocabulary: perplexity near the vocabulary size.
  const double ppl = j["ppl_ppl"]["agg_value"].get<double>();
  EXPECT_GT(ppl, 5000);
  EXPECT_LT(ppl, 500000);
}
}  // namespace
