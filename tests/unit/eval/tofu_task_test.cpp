// The TOFU task end to end on the table LM of tests/golden/eval (logits at t = cur[x_t]) with a
// character codec: its requests score only the answer tokens, its greedy answers follow the
// question, and its metrics equal those numpy computed from the same table
// (tests/golden/eval/make_tofu_goldens.py, "table_task"), in any batching.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "eval/runner.h"
#include "eval/tasks.h"
#include "tests/unit/eval/golden.h"
#include "tests/unit/eval/tofu_golden.h"
#include "tests/unit/unlearn/fake_model.h"

namespace {
using namespace unl::eval;

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<torch::Tensor> r;
  for (const auto& row : rows) r.push_back(torch::tensor(row.get<std::vector<double>>(), torch::kDouble));
  return torch::stack(r);
}

// token = ord(c) % 12; text = question + "\n" + answer; the prompt is question + "\n".
QaTokens encode(const std::string& q, const std::string& a) {
  QaTokens t;
  for (char c : q + "\n" + a) t.tokens.push_back(static_cast<unsigned char>(c) % 12);
  t.prompt_len = static_cast<int64_t>(q.size()) + 1;
  return t;
}
std::string decode(const std::vector<int64_t>& ids) {
  std::string s;
  for (auto t : ids) s += static_cast<char>('a' + t);
  return s;
}

TEST(TofuTask, MatchesNumpyOnTheTableLMInAnyBatching) {
  const auto& g = unl::eval_golden::tofu_goldens()["table_task"];
  const auto path = (std::filesystem::temp_directory_path() / ("tofu_task_" + std::to_string(::getpid()) + ".jsonl")).string();
  {
    std::ofstream out(path);
    for (const auto& r : g["rows"]) out << r.dump() << "\n";
  }
  TaskOptions o;
  o.max_length = g["max_length"].get<int64_t>();
  o.answer_tokens = g["answer_tokens"].get<int64_t>();
  auto task = make_tofu_task({"tofu", "forget", path}, encode, decode, o);
  std::filesystem::remove(path);
  auto lm = std::make_shared<unl::unlearn::testing::TableLMImpl>(
      matrix(unl::eval_golden::goldens()["table_lm"]["cur"]).to(torch::kFloat));
  const auto& reqs = task->requests();
  // 2 rows: answer, paraphrase, 2 + 1 perturbed log-likelihoods and 2 generations.
  ASSERT_EQ(reqs.size(), 9u);
  size_t generations = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (task->kind_of(i) == RequestKind::kGenerate) {
      ++generations;
      EXPECT_TRUE(reqs[i].continuation.empty());
      EXPECT_EQ(reqs[i].context.back(), '\n' % 12) << "a greedy answer continues question + separator";
    } else {
      EXPECT_EQ(reqs[i].context.back(), '\n' % 12) << "the context is the question, the continuation only the answer";
    }
  }
  EXPECT_EQ(generations, 2u);
  std::string first;
  for (int64_t bs : {1, 3, 16}) {
    RunnerOptions ro;
    ro.batch_size = bs;
    ro.max_new_tokens = 1;  // the task's own budget (answer_tokens) must win
    std::vector<Output> out(reqs.size());
    for (auto kind : {RequestKind::kLoglik, RequestKind::kGenerate}) {
      std::vector<int64_t> ids, lengths;
      for (size_t i = 0; i < reqs.size(); ++i)
        if (task->kind_of(i) == kind) ids.push_back(static_cast<int64_t>(i)), lengths.push_back(reqs[i].length());
      for (auto batch : plan_batches(lengths, bs)) {
        for (auto& k : batch) k = ids[k];
        for (auto& x : run_batch(*lm, kind, reqs, batch, ro)) out.at(x.index) = x;
      }
    }
    const auto results = task->results(out, nullptr);
    const auto& want = g["want"];
    ASSERT_EQ(results.size(), want.size());
    for (const auto& m : results) {
      ASSERT_TRUE(want.contains(m.name)) << m.name;
      EXPECT_NEAR(m.agg_value, want[m.name]["agg"].get<double>(), 1e-9) << m.name << " batch " << bs;
    }
    for (size_t r = 0; r < g["scored"].size(); ++r) {
      const auto& rouge = results.back().value_by_index.at(static_cast<int64_t>(r));
      EXPECT_EQ(rouge["generation"].get<std::string>(), g["scored"][r]["gen"].get<std::string>()) << "row " << r;
      EXPECT_EQ(rouge["ground_truth"].get<std::string>(), g["rows"][r]["answer"].get<std::string>());
      EXPECT_NEAR(results[0].value_by_index.at(static_cast<int64_t>(r))["avg_loss"].get<double>(),
                  -g["scored"][r]["answer"][0].get<double>() / g["scored"][r]["answer"][1].get<double>(), 1e-9);
    }
    const std::string dump = results_json(results).dump();
    if (first.empty()) first = dump;
    EXPECT_EQ(dump, first) << "batch size " << bs << " changed the result";
  }
}
}  // namespace
