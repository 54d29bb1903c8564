// eval.json in open-unlearning's shape and the per-sample JSONL.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/results.h"

namespace {
using namespace unl::eval;
using nlohmann::ordered_json;

TEST(Results, OpenUnlearningShape) {
  MetricResult a;
  a.name = "choice_acc";
  a.agg_value = 0.5;
  a.value_by_index[0] = {{"score", 1.0}};
  a.value_by_index[1] = {{"score", 0.0}};
  MetricResult b;
  b.name = "mia_loss";
  b.agg_value = NAN;
  b.extra["forget"] = {{"agg_value", 2.0}, {"value_by_index", {{"0", {{"score", 2.0}}}}}};
  auto j = results_json({a, b});
  EXPECT_EQ(j["choice_acc"]["agg_value"], 0.5);
  EXPECT_EQ(j["choice_acc"]["value_by_index"]["1"]["score"], 0.0);
  EXPECT_TRUE(j["mia_loss"]["agg_value"].is_null());
  EXPECT_FALSE(j["mia_loss"].contains("value_by_index"));
  EXPECT_EQ(j["mia_loss"]["forget"]["agg_value"], 2.0);
  EXPECT_EQ(results_jsonl({a, b}),
            "{\"metric\":\"choice_acc\",\"index\":0,\"score\":1.0}\n{\"metric\":\"choice_acc\",\"index\":1,\"score\":0.0}\n"
            "{\"metric\":\"mia_loss\",\"set\":\"forget\",\"index\":0,\"score\":2.0}\n");
}
}  // namespace
