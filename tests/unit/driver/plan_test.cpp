// `unlearn plan` from config.json alone: parameter counts of the published shapes (GPT-Neo 2.7B,
// Llama-2 7B/13B/70B, as their model cards and `sum(p.numel())` in transformers report them), the
// bytes per parameter each precision allocates, and the size parser.
#include <gtest/gtest.h>

#include <cmath>

#include <string>

#include "common/error.h"
#include "driver/plan.h"

namespace {
using namespace unl::driver;
const std::string kConfigs = std::string(UNL_SOURCE_DIR) + "/docs/large-models/";

TEST(Plan, ParameterCountsOfPublishedShapes) {
  EXPECT_EQ(plan_model(kConfigs + "gpt-neo-2.7B").parameters, 2651307520);
  EXPECT_EQ(plan_model(kConfigs + "llama-2-7b").parameters, 6738415616);
  EXPECT_EQ(plan_model(kConfigs + "llama-2-13b").parameters, 13015864320);
  EXPECT_EQ(plan_model(kConfigs + "llama-2-70b").parameters, 68976648192);
  EXPECT_EQ(plan_model(kConfigs + "llama-2-7b").stored_dtype, "");  // config only: no weights read
}

TEST(Plan, BytesPerParameterPerPrecision) {
  const auto m = plan_model(kConfigs + "llama-2-7b");
  const double P = static_cast<double>(m.parameters);
  PlanArgs a;
  a.ranks = 8;
  a.batch_size = 16;
  const auto rows = plan_rows(m, a);
  ASSERT_EQ(rows.size(), 8u);  // 2 precisions x (whole share of 2, micro-batch 1) x checkpointing
  for (const auto& r : rows) {
    const bool mixed = r.precision == "bf16-mixed";
    EXPECT_EQ(r.weights, (mixed ? 2 : 4) * P);
    EXPECT_EQ(r.master, mixed ? 4 * P : 0);
    EXPECT_EQ(r.moments, 8 * P);
    EXPECT_EQ(r.grads, (mixed ? 6 : 4) * P);
    EXPECT_EQ(r.reference, (mixed ? 2 : 4) * P);  // icu keeps the frozen model
    EXPECT_GT(r.activations, 0);
  }
  // Order: fp32 then bf16-mixed; per precision whole share (2) then 1; checkpointing off then on.
  EXPECT_EQ(rows[0].micro_batch, 2);
  EXPECT_EQ(rows[2].micro_batch, 1);
  EXPECT_LT(rows[1].activations, rows[0].activations);  // checkpointing keeps less
  EXPECT_LT(rows[2].activations, rows[0].activations);  // so does a smaller micro-batch
  EXPECT_LT(rows[4].activations, rows[0].activations);  // and bf16 activations
  a.method = "ga";  // no reference, no neighbour rows
  for (const auto& r : plan_rows(m, a)) EXPECT_EQ(r.reference, 0);
}

// ZeRO: master weights and moments shrink to one slice of the flat layout; the slice is the
// parameter count over the ranks, rounded up to the 64-element alignment of every tensor.
TEST(Plan, ZeroStagesShardMasterAndMoments) {
  const auto m = plan_model(kConfigs + "llama-2-7b");
  const double P = static_cast<double>(m.parameters);
  PlanArgs a;
  a.ranks = 8;
  a.batch_size = 8;
  a.seq_len = 512;
  a.zero_stage = 1;
  const auto stage1 = plan_rows(m, a);
  a.zero_stage = 2;
  const auto stage2 = plan_rows(m, a);
  ASSERT_EQ(stage1.size(), 4u);  // 2 precisions x checkpointing (one sample per rank: no micro split)
  ASSERT_EQ(stage2.size(), 4u);
  for (size_t i = 0; i < stage1.size(); ++i) {
    const bool mixed = stage1[i].precision == "bf16-mixed";
    const double S = stage1[i].moments / 8;
    // Llama-2-7B's 291 tensors (all multiples of 64 elements but the norms' 4096) pad little.
    EXPECT_GE(S, P / 8);
    EXPECT_LT(S, P / 8 + 64 * 300);
    EXPECT_EQ(std::fmod(S, 64.0), 0.0);
    EXPECT_EQ(stage1[i].master, 4 * S);
    EXPECT_EQ(stage1[i].grads, (mixed ? 6 : 4) * P + 4 * S);
    EXPECT_EQ(stage2[i].grads, (mixed ? 2 : 4) * P + 4 * S);
    EXPECT_EQ(stage2[i].weights, (mixed ? 2 : 4) * P);  // stage 3 would shard these
    // Step buffers: stage 2 sends 8 ranks x one 25 MiB chunk; Adam's temporary is the fp32 slice.
    EXPECT_EQ(stage2[i].buffers, 4 * (8 * (25.0 * 1048576 / 4) + S));
    // Stage 1 all-reduces through one scratch bucket of at most 25 MiB (Llama-2-7B's tensors of
    // 4096 x 4096 = 64 MiB and more are reduced in place) and Adam's temporary is the slice.
    EXPECT_GT(stage1[i].buffers, 4 * S);
    EXPECT_LE(stage1[i].buffers, 4 * S + 25.0 * 1048576);
  }
  a.zero_stage = 3;
  EXPECT_THROW(plan_rows(m, a), unl::Error);
}

TEST(Plan, ReportSaysWhatFits) {
  const auto m = plan_model(kConfigs + "llama-2-70b");
  PlanArgs a;
  a.model = "llama-2-70b";
  a.ranks = 8;
  a.device_memory = "80GiB";
  const std::string report = plan_report(m, a);
  // 70B replicated needs > 1 TiB per rank in any precision: nothing fits an 80 GiB device.
  EXPECT_NE(report.find("  no\n"), std::string::npos) << report;
  EXPECT_EQ(report.find("  yes\n"), std::string::npos) << report;
  EXPECT_NE(report.find("68.98 B parameters"), std::string::npos) << report;
  a.device_memory = "100TiB";
  EXPECT_EQ(plan_report(m, a).find("  no\n"), std::string::npos);
}

TEST(Plan, ParsesSizesAndRefusesNonsense) {
  EXPECT_EQ(parse_bytes("80GiB"), 80.0 * (1 << 30));
  EXPECT_EQ(parse_bytes("80 GiB"), 80.0 * (1 << 30));
  EXPECT_EQ(parse_bytes("40GB"), 40e9);
  EXPECT_EQ(parse_bytes("1.5TiB"), 1.5 * 1099511627776.0);
  EXPECT_EQ(parse_bytes("4096"), 4096.0);
  EXPECT_THROW(parse_bytes("80 gigs"), unl::UsageError);
  EXPECT_THROW(parse_bytes("-1GiB"), unl::UsageError);
  EXPECT_THROW(parse_bytes(""), unl::UsageError);
  EXPECT_THROW(plan_model(kConfigs + "no-such-model"), unl::Error);
}

}  // namespace
