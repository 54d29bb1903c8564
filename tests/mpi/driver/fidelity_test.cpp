// The official ICU semantics the run loop follows (issue 14), each on N ranks (mpiexec -n 2/3)
// and on one process with identical results: epoch-0 check, official step accounting, neighbours
// never paired with copies of forget rows, and a neighbour index file honoured exactly.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "driver/job_config.h"
#include "driver/run_loop.h"
#include "shard/shard.h"
#include "tests/mpi/fixture.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using unl::driver::JobConfig;

// Even rows share one template (memorised by EpochZeroFlagsAndOfficialStepAccounting); odd rows
// are unlike it and unlike each other, so memorising the even ones leaves them unknown.
std::string forget_text(int i) {
  static const char* odd[] = {"Quartz vessels drift under violet skies near the harbour of Oslo tonight.",
                              "Seven copper kettles whistle while the baker counts marbles in Lyon.",
                              "A sleepy walrus recited algebra to puzzled seagulls at noon in Perth.",
                              "Orange kites tangled over frozen tram lines as Kyoto woke up late."};
  if (i % 2 == 1) return odd[(i / 2) % 4];
  return "Record " + std::to_string(i) + ": Jane Roe lives at " + std::to_string(12 + i) + " Elm Street, phone 555 01" +
         std::to_string(10 + i) + ".";
}

// A tiny GPT-Neo, 8 forget rows and a pool holding every forget row (under other ids, twice for
// row 0) besides public rows.
void write_fixture(const std::string& dir) {
  unl::mpi_testing::save_tiny_gpt_neo(dir, 21);
  std::ofstream f(dir + "/forget.jsonl"), r(dir + "/retain.jsonl"), half(dir + "/memorise.jsonl");
  for (int i = 0; i < 8; ++i) {
    f << json{{"id", i}, {"text", forget_text(i)}}.dump() << "\n";
    if (i % 2 == 0) half << json{{"id", i}, {"text", forget_text(i)}}.dump() << "\n";
  }
  int id = 100;
  for (int i = 0; i < 8; ++i) r << json{{"id", id++}, {"text", forget_text(i)}}.dump() << "\n";
  r << json{{"id", id++}, {"text", forget_text(0)}}.dump() << "\n";
  for (int i = 0; i < 10; ++i)
    r << json{{"id", id++}, {"text", "Public fact " + std::to_string(i) + ": the river runs north past the mill."}}.dump()
      << "\n";
}

JobConfig job(const std::string& dir, const std::string& out, std::vector<std::string> extra) {
  std::vector<std::string> all = {"model.path=" + dir + "/model", "data.forget=" + dir + "/forget.jsonl",
                                  "data.retain=" + dir + "/retain.jsonl", "output.dir=" + out,
                                  "data.max_tokens=24", "optim.lr=1e-3", "train.batch_size=2",
                                  "train.max_epochs=2", "neighbours.span_begin=0", "neighbours.span_end=-1",
                                  "eval.n=3", "eval.suffix_start=4", "eval.prompt_begin=0", "eval.prefix_len=6",
                                  "eval.gen_len=6", "eval.num_beams=1", "output.log_level=warn",
                                  "output.save_final=true"};
  all.insert(all.end(), extra.begin(), extra.end());
  return JobConfig::from_toml("", "test.toml", all);
}

json report(const std::string& out) {
  std::ifstream in(out + "/report.json");
  return json::parse(in);
}
using unl::mpi_testing::metrics_records;

// Runs a job on all ranks, then on rank 0 alone; returns the two output dirs (rank 0 only).
std::pair<std::string, std::string> run_both(unl::comm::Communicator& comm, const std::string& dir,
                                             const std::string& name, const std::vector<std::string>& extra) {
  const std::string multi = dir + "/" + name + "-multi", single = dir + "/" + name + "-single";
  EXPECT_EQ(unl::driver::run_job(job(dir, multi, extra), comm, {}), 0);
  comm.barrier();
  if (comm.rank() == 0) {
    unl::comm::LocalCommunicator local;
    EXPECT_EQ(unl::driver::run_job(job(dir, single, extra), local, {}), 0);
  }
  return {multi, single};
}

// Per-sample outcome as the reports give it (neighbour row and the epoch a sample was dropped).
json outcome(const json& r) {
  json o = json::array();
  for (const auto& s : r["samples"]) o.push_back({s["id"], s["neighbour"], s["forgotten_epoch"], s["forgotten"]});
  return o;
}

class Fidelity : public ::testing::Test {
 protected:
  void SetUp() override {
    comm_ = unl::mpi_testing::world();
    dir_ = unl::mpi_testing::shared_dir(*comm_, ::testing::UnitTest::GetInstance()->current_test_info()->name());
    if (comm_->rank() == 0) write_fixture(dir_);
    comm_->barrier();
  }
  void TearDown() override {
    comm_->barrier();
    if (comm_->rank() == 0) fs::remove_all(dir_);
  }
  std::unique_ptr<unl::comm::Communicator> comm_;
  std::string dir_;
};

TEST_F(Fidelity, MinedNeighboursAreNeverCopiesOfForgetRows) {
  auto [multi, single] = run_both(*comm_, dir_, "mine", {"train.max_steps=1"});
  if (comm_->rank() != 0) return;
  const auto r = report(multi);
  std::set<int64_t> copies;  // retain rows 0..8 are copies of forget rows
  for (int64_t row = 0; row <= 8; ++row) copies.insert(row);
  for (const auto& s : r["samples"]) {
    const int64_t row = s["neighbour"].get<int64_t>();
    EXPECT_GE(row, 9) << "sample " << s["id"] << " paired with retain row " << row << ", a copy of a forget row";
    EXPECT_FALSE(copies.count(row));
  }
  EXPECT_EQ(outcome(r), outcome(report(single)));
}

TEST_F(Fidelity, ANeighbourIndexFileIsHonouredExactly) {
  // Deliberately odd pairs (even copies of forget rows): a given index is used as given.
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t i = 0; i < 8; ++i) pairs.push_back({i, 100 + (i * 5) % 19});
  if (comm_->rank() == 0) {
    std::ofstream out(dir_ + "/pairs.jsonl");
    for (auto [f, n] : pairs) out << json{{"forget", f}, {"neighbour", n}}.dump() << "\n";
  }
  comm_->barrier();
  auto [multi, single] = run_both(*comm_, dir_, "index", {"train.max_steps=1", "neighbours.index=" + dir_ + "/pairs.jsonl"});
  if (comm_->rank() != 0) return;
  const auto r = report(multi);
  for (const auto& s : r["samples"]) {
    const int64_t id = s["id"].get<int64_t>();
    EXPECT_EQ(s["neighbour"].get<int64_t>(), (id * 5) % 19) << "sample " << id;  // retain row = id - 100
  }
  EXPECT_EQ(outcome(r), outcome(report(single)));
}

TEST_F(Fidelity, EpochZeroCheckEndsAJobWhoseSamplesAreAllForgotten) {
  // Official rule with a BLEU threshold above every continuation's BLEU: all forgotten before the
  // first update. The job ends without a step and the model is unchanged.
  auto [multi, single] = run_both(*comm_, dir_, "done", {"thresholds.bleu=1.0", "thresholds.ma=0", "thresholds.el=0"});
  if (comm_->rank() != 0) return;
  for (const auto& out : {multi, single}) {
    const auto r = report(out);
    EXPECT_EQ(r["steps"].get<int64_t>(), 0);
    EXPECT_EQ(r["stop_reason"].get<std::string>(), "no active samples");
    for (const auto& s : r["samples"]) EXPECT_EQ(s["forgotten_epoch"].get<int64_t>(), 0);
    auto a = unl::model::load_pretrained(out + "/final"), b = unl::model::load_pretrained(dir_ + "/model");
    auto pa = unl::model::hf_state_dict(*a.model), pb = unl::model::hf_state_dict(*b.model);
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i].second, pb[i].second)) << pa[i].first;
  }
}

TEST_F(Fidelity, EpochZeroFlagsAndOfficialStepAccounting) {
  // Memorise the even forget rows first (plain fine-tuning), so the check before the first update
  // finds the odd ones already forgotten (rule all, MA only) and the even ones active.
  unl::comm::LocalCommunicator local;
  if (comm_->rank() == 0) {
    auto t = job(dir_, dir_ + "/base", {"method.name=finetune", "data.forget=" + dir_ + "/memorise.jsonl",
                                         "optim.lr=1e-2", "train.max_epochs=40", "optim.beta2=0.999"});
    ASSERT_EQ(unl::driver::run_job(t, local, {}), 0);
  }
  comm_->barrier();
  const std::vector<std::string> extra = {"model.path=" + dir_ + "/base/final", "thresholds.rule=all",
                                          "thresholds.use_bleu=false", "thresholds.use_el=false",
                                          "thresholds.ma=0.3", "train.batching=official", "train.max_epochs=1",
                                          "optim.lr=1e-6"};
  auto [multi, single] = run_both(*comm_, dir_, "official", extra);
  if (comm_->rank() != 0) return;
  const auto r = report(multi);
  std::set<int64_t> active;
  for (const auto& s : r["samples"]) {
    const int64_t id = s["id"].get<int64_t>();
    const double ma = s["before"]["ma"].get<double>();
    // The verdict before any update follows the rule: MA below 0.3 is dropped at epoch 0.
    EXPECT_EQ(s["forgotten_epoch"].get<int64_t>() == 0, ma < 0.3) << "sample " << id << " MA " << ma;
    if (ma >= 0.3) active.insert(id);
  }
  ASSERT_FALSE(active.empty()) << "memorising the even rows failed; the test cannot check anything";
  ASSERT_LT(active.size(), 8u);
  // Official accounting: the epoch walks all 8 pairs in the seeded order, batches of 2; a batch
  // with no active pair takes no step.
  std::vector<int64_t> ids = {0, 1, 2, 3, 4, 5, 6, 7};
  const auto order = unl::shard::permute_ids(ids, 42, 0);
  int64_t expected_steps = 0;
  for (size_t b = 0; b < order.size(); b += 2)
    expected_steps += active.count(order[b]) || (b + 1 < order.size() && active.count(order[b + 1]));
  EXPECT_EQ(static_cast<int64_t>(metrics_records(multi, "step").size()), expected_steps);
  for (const auto& s : metrics_records(multi, "step")) EXPECT_EQ(s["active"].get<size_t>(), active.size());
  EXPECT_EQ(outcome(r), outcome(report(single)));
  EXPECT_EQ(metrics_records(multi, "step").size(), metrics_records(single, "step").size());
}

}  // namespace
