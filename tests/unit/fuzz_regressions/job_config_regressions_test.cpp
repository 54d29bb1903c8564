// Replays the TOML inputs fuzz/job_config_fuzz once crashed toml++ with (a NUL in a table header,
// a non-ASCII character where a key or whitespace belongs), and checks the byte pre-scan that now
// rejects them does not reject valid TOML with non-ASCII text in strings and comments.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "common/error.h"
#include "driver/job_config.h"

namespace {

using unl::driver::JobConfig;

std::string read_seed(const std::string& name) {
  const std::string path = std::string(UNL_SOURCE_DIR) + "/fuzz/corpus/job_config/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string usage_error(const std::string& text) {
  try {
    JobConfig::from_toml(text, "t.toml");
  } catch (const unl::UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(FuzzRegressions, NulInTableHeaderIsAUsageError) {
  const std::string text = read_seed("regress-nul-in-table-header");
  ASSERT_EQ(text.substr(0, 2), std::string("[\0", 2));
  EXPECT_NE(usage_error(text).find("t.toml:1:2: control character 0x00"), std::string::npos)
      << usage_error(text);
}

TEST(FuzzRegressions, NonAsciiOutsideStringsIsAUsageError) {
  // U+035A after a bare key: toml++ 3.x reached __builtin_unreachable in its whitespace test.
  const std::string msg = usage_error(read_seed("regress-nonascii-bare"));
  EXPECT_NE(msg.find("t.toml:1:5: a non-ASCII character"), std::string::npos) << msg;
  EXPECT_NE(usage_error("\n\n  \xcd\x9a").find("t.toml:3:3:"), std::string::npos);
}

TEST(FuzzRegressions, BadTableHeaderIsAUsageError) {
  EXPECT_FALSE(usage_error(read_seed("regress-colon-table-header")).empty());
}

TEST(FuzzRegressions, NonAsciiInStringsAndCommentsStillParses) {
  const std::string text =
      "# caf\xc3\xa9 \xe2\x80\x94 comment\n"
      "[model]\n"
      "path = \"/m/\\\"caf\xc3\xa9\\\"\"  # trailing \xe4\xb8\xad\n"
      "tokenizer = '/t/\xf0\x9f\x98\x80'\n"
      "[data]\n"
      "forget = \"\"\"f\xc3\xa9\n\"quoted\" \xc3\xa9.jsonl\"\"\"\n"
      "retain = '''r\xc3\xa9\n'x' \xc3\xa9.jsonl'''\n";
  JobConfig cfg = JobConfig::from_toml(text, "ok.toml");
  EXPECT_EQ(cfg.model.path, "/m/\"caf\xc3\xa9\"");
  EXPECT_EQ(cfg.model.tokenizer, "/t/\xf0\x9f\x98\x80");
  EXPECT_EQ(cfg.data.forget, "f\xc3\xa9\n\"quoted\" \xc3\xa9.jsonl");
  EXPECT_EQ(cfg.data.retain, "r\xc3\xa9\n'x' \xc3\xa9.jsonl");
}

TEST(FuzzRegressions, ControlCharacterInsideAStringIsAUsageError) {
  // TOML forbids raw controls (but tab) even in strings; toml++ would say so too, later.
  const std::string msg = usage_error(std::string("[model]\npath = \"a\x01\"\n"));
  EXPECT_NE(msg.find("t.toml:2:10: control character 0x01"), std::string::npos) << msg;
}

}  // namespace

// `lath = -neo-08pppppppp'Y<non-ASCII>...`: the quote sits inside a bare value, where toml++ does
// not start a string, so the non-ASCII bytes after it reached toml++'s unreachable branch
// (found by job_config_fuzz in the second session). A quote may now only follow \n = [ { , .
TEST(FuzzRegressions, QuoteInsideABareValueIsAUsageError) {
  const std::string text = read_seed("regress-quote-inside-bare-value");
  const std::string message = usage_error(text);
  EXPECT_NE(message.find("t.toml:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("a quote can only begin a string or a quoted key"), std::string::npos) << message;
  EXPECT_NE(message.find("not follow 'p'"), std::string::npos) << message;
}

TEST(FuzzRegressions, QuotesWhereTomlAllowsThemStillParse) {
  const std::string text =
      "\"model\".path = 'm'  # a quoted, dotted key at a line start\n"
      "optim = { lr = 0.5, \"beta1\" = 0.8 }\n"
      "[ \"data\" ]\n"
      "forget = \"f\xc3\xa9\"\n"
      "retain='r'\n";
  JobConfig cfg = JobConfig::from_toml(text, "ok.toml");
  EXPECT_EQ(cfg.model.path, "m");
  EXPECT_EQ(cfg.data.forget, "f\xc3\xa9");
  EXPECT_EQ(cfg.data.retain, "r");
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 0.5);
  EXPECT_DOUBLE_EQ(cfg.optim.beta1, 0.8);
}
