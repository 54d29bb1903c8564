// Task files: the documented shapes parse, and a malformed line is reported with file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "eval/task_files.h"

namespace {
using namespace unl::eval;
namespace fs = std::filesystem;

std::string write(const std::string& name, const std::string& text) {
  const auto p = fs::temp_directory_path() / ("unl-eval-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p) << text;
  return p.string();
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const unl::Error& e) {
    return e.what();
  }
  return "";
}

TEST(TaskFiles, ChoiceParsesAndValidates) {
  const auto p = write("c.jsonl", R"({"context": "Q?", "choices": [" yes", " no"], "label": 1})"
                                  "\n\n" R"({"context": "R", "choices": ["a", "b", "c"], "label": 0})" "\n");
  auto docs = read_choice_file(p);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].choices[1], " no");
  EXPECT_EQ(docs[0].label, 1);
  EXPECT_EQ(docs[1].choices.size(), 3u);
  const auto bad = write("bad.jsonl", R"({"context": "Q", "choices": ["a", "b"], "label": 0})" "\n"
                                      R"({"context": "Q", "choices": ["a", "b"], "label": 2})" "\n");
  EXPECT_NE(error_of([&] { read_choice_file(bad); }).find(bad + ":2: label 2"), std::string::npos);
  const auto broken = write("broken.jsonl", "{\"context\": \n");
  EXPECT_NE(error_of([&] { read_choice_file(broken); }).find(broken + ":1: not a JSON object"), std::string::npos);
}

TEST(TaskFiles, LambadaSplitsTheLastWord) {
  const auto p = write("l.jsonl", R"({"text": "the cat sat on the mat"})" "\n" R"({"context": "x y", "target": " z"})" "\n");
  auto docs = read_lambada_file(p);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].context, "the cat sat on the");
  EXPECT_EQ(docs[0].target, " mat");
  EXPECT_EQ(docs[1].target, " z");
  const auto one = write("l1.jsonl", R"({"text": "word"})" "\n");
  EXPECT_NE(error_of([&] { read_lambada_file(one); }).find(one + ":1:"), std::string::npos);
}

TEST(TaskFiles, DialogueAndPpl) {
  const auto d = write("d.jsonl", R"({"context": "User 1: hi\nUser 2:", "response": " hello"})" "\n");
  EXPECT_EQ(read_dialogue_file(d).at(0).response, " hello");
  const auto miss = write("d2.jsonl", R"({"context": "User 1: hi"})" "\n");
  EXPECT_NE(error_of([&] { read_dialogue_file(miss); }).find("missing string field \"response\""), std::string::npos);
  const auto pj = write("p.jsonl", R"({"text": "one"})" "\n" R"({"text": "two"})" "\n");
  EXPECT_EQ(read_ppl_file(pj), (std::vector<std::string>{"one", "two"}));
  const auto pt = write("p.txt", "raw text\n");
  EXPECT_EQ(read_ppl_file(pt), (std::vector<std::string>{"raw text\n"}));
}

TEST(TaskFiles, TaskListParsing) {
  auto t = parse_task_list("choice=a.jsonl,lambada:lam=b.jsonl,mia");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1].kind, "lambada");
  EXPECT_EQ(t[1].name, "lam");
  EXPECT_EQ(t[1].path, "b.jsonl");
  EXPECT_EQ(t[2].kind, "mia");
  EXPECT_THROW(parse_task_list("choice"), unl::UsageError);
  EXPECT_THROW(parse_task_list("bogus=x"), unl::UsageError);
  EXPECT_THROW(parse_task_list("choice=a,choice=b"), unl::UsageError);
  EXPECT_NO_THROW(parse_task_list("choice=a,choice:other=b"));
}
}  // namespace
