// JSONL readers for the evaluation tasks, with file:line errors, and the --tasks list parser.
#include "eval/task_files.h"

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"

namespace unl::eval {
namespace {
using nlohmann::json;

/// Calls `fn(object, "path:line: ")` for every non-blank line.
void for_each_line(const std::string& path, const std::string& shape,
                   const std::function<void(const json&, const std::string&)>& fn) {
  std::ifstream in(path);
  UNL_CHECK(in.good(), "cannot read task file '" + path + "'", "check the path in --tasks");
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string at = path + ":" + std::to_string(lineno) + ": ";
    json j = json::parse(line, nullptr, false);
    UNL_CHECK(!j.is_discarded() && j.is_object(), at + "not a JSON object", "each line must be " + shape);
    fn(j, at);
  }
}

std::string string_field(const json& j, const char* key, const std::string& at, const std::string& shape) {
  UNL_CHECK(j.contains(key) && j[key].is_string(), at + "missing string field \"" + key + "\"",
            "each line must be " + shape);
  return j[key].get<std::string>();
}

}  // namespace

std::vector<ChoiceDoc> read_choice_file(const std::string& path) {
  const std::string shape = R"({"context": "...", "choices": ["...", "..."], "label": 0})";
  std::vector<ChoiceDoc> out;
  for_each_line(path, shape, [&](const json& j, const std::string& at) {
    ChoiceDoc d;
    d.context = string_field(j, "context", at, shape);
    UNL_CHECK(j.contains("choices") && j["choices"].is_array() && j["choices"].size() >= 2,
              at + "\"choices\" must be a list of at least two strings", "each line must be " + shape);
    for (const auto& c : j["choices"]) {
      UNL_CHECK(c.is_string() && !c.get<std::string>().empty(), at + "every choice must be a non-empty string",
                "each line must be " + shape);
      d.choices.push_back(c.get<std::string>());
    }
    UNL_CHECK(j.contains("label") && j["label"].is_number_integer(), at + "missing integer field \"label\"",
              "each line must be " + shape);
    d.label = j["label"].get<int64_t>();
    UNL_CHECK(d.label >= 0 && d.label < static_cast<int64_t>(d.choices.size()),
              at + "label " + std::to_string(d.label) + " is not an index into the " +
                  std::to_string(d.choices.size()) + " choices",
              "label is the 0-based index of the correct choice");
    out.push_back(std::move(d));
  });
  return out;
}

std::vector<LambadaDoc> read_lambada_file(const std::string& path) {
  const std::string shape = R"({"text": "... last word"} or {"context": "...", "target": " word"})";
  std::vector<LambadaDoc> out;
  for_each_line(path, shape, [&](const json& j, const std::string& at) {
    LambadaDoc d;
    if (j.contains("text")) {
      std::string text = string_field(j, "text", at, shape);
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r')) text.pop_back();
      const auto sp = text.rfind(' ');
      UNL_CHECK(sp != std::string::npos && sp > 0, at + "\"text\" needs at least two words (context and target)",
                "each line must be " + shape);
      d.context = text.substr(0, sp);
      d.target = text.substr(sp);
    } else {
      d.context = string_field(j, "context", at, shape);
      d.target = string_field(j, "target", at, shape);
    }
    UNL_CHECK(!d.context.empty() && !d.target.empty(), at + "empty context or target", "each line must be " + shape);
    out.push_back(std::move(d));
  });
  return out;
}

std::vector<DialogueDoc> read_dialogue_file(const std::string& path) {
  const std::string shape = R"({"context": "User 1: ...\nUser 2: ...", "response": "..."})";
  std::vector<DialogueDoc> out;
  for_each_line(path, shape, [&](const json& j, const std::string& at) {
    DialogueDoc d{string_field(j, "context", at, shape), string_field(j, "response", at, shape)};
    UNL_CHECK(!d.context.empty(), at + "empty \"context\"", "each line must be " + shape);
    out.push_back(std::move(d));
  });
  return out;
}

std::vector<std::string> read_ppl_file(const std::string& path) {
  std::vector<std::string> out;
  if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0) {
    const std::string shape = R"({"text": "..."})";
    for_each_line(path, shape, [&](const json& j, const std::string& at) { out.push_back(string_field(j, "text", at, shape)); });
  } else {
    std::ifstream in(path, std::ios::binary);
    UNL_CHECK(in.good(), "cannot read task file '" + path + "'", "check the path in --tasks");
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  UNL_CHECK(!out.empty(), "ppl task file '" + path + "' holds no document", "give at least one {\"text\": ...} line");
  return out;
}

std::vector<TofuDoc> read_tofu_file(const std::string& path, bool need_paraphrase) {
  const std::string shape = need_paraphrase
                                ? R"({"question": "...", "answer": "...", "paraphrased_answer": "...", "perturbed_answer": ["...", ...]})"
                                : R"({"question": "...", "answer": "...", "perturbed_answer": ["...", ...]})";
  std::vector<TofuDoc> out;
  for_each_line(path, shape, [&](const json& j, const std::string& at) {
    TofuDoc d;
    d.question = string_field(j, "question", at, shape);
    d.answer = string_field(j, "answer", at, shape);
    if (need_paraphrase) d.paraphrased = string_field(j, "paraphrased_answer", at, shape);
    UNL_CHECK(j.contains("perturbed_answer"), at + "missing field \"perturbed_answer\"", "each line must be " + shape);
    const json& p = j["perturbed_answer"];
    if (p.is_string()) {
      d.perturbed.push_back(p.get<std::string>());
    } else {
      UNL_CHECK(p.is_array() && !p.empty(), at + "\"perturbed_answer\" must be a non-empty list of strings",
                "each line must be " + shape);
      for (const auto& x : p) {
        UNL_CHECK(x.is_string(), at + "\"perturbed_answer\" must be a non-empty list of strings", "each line must be " + shape);
        d.perturbed.push_back(x.get<std::string>());
      }
    }
    UNL_CHECK(!d.question.empty(), at + "empty \"question\"", "each line must be " + shape);
    UNL_CHECK(!d.answer.empty(), at + "empty \"answer\"", "each line must be " + shape);
    UNL_CHECK(!need_paraphrase || !d.paraphrased.empty(), at + "empty \"paraphrased_answer\"", "each line must be " + shape);
    for (const auto& a : d.perturbed) UNL_CHECK(!a.empty(), at + "empty perturbed answer", "each line must be " + shape);
    out.push_back(std::move(d));
  });
  UNL_CHECK(!out.empty(), "TOFU task file '" + path + "' holds no row", "give at least one question/answer line");
  return out;
}

std::vector<TaskSpec> parse_task_list(const std::string& text) {
  static const std::set<std::string> with_file = {"choice", "lambada", "dialogue", "ppl", "tofu", "tofu_retain", "tofu_options"};
  static const std::set<std::string> without_file = {"mia"};
  const std::string hint = "write --tasks kind[:name]=FILE,... with kind choice, lambada, dialogue, ppl, tofu, "
                           "tofu_retain or tofu_options, or the bare kind mia (scores --forget against --heldout)";
  std::vector<TaskSpec> out;
  std::set<std::string> names;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    TaskSpec t;
    const auto eq = item.find('=');
    std::string head = item.substr(0, eq);
    if (eq != std::string::npos) t.path = item.substr(eq + 1);
    const auto colon = head.find(':');
    t.kind = head.substr(0, colon);
    static const std::map<std::string, std::string> default_names = {
        {"tofu", "forget"}, {"tofu_retain", "retain"}, {"tofu_options", "options"}};
    const auto dn = default_names.find(t.kind);
    t.name = colon != std::string::npos ? head.substr(colon + 1) : dn != default_names.end() ? dn->second : t.kind;
    if (with_file.count(t.kind)) {
      if (t.path.empty()) UNL_USAGE_ERROR("--tasks: '" + item + "' names no file", hint);
    } else if (without_file.count(t.kind)) {
      if (!t.path.empty()) UNL_USAGE_ERROR("--tasks: '" + t.kind + "' takes no file (it uses --forget and --heldout)", hint);
    } else {
      UNL_USAGE_ERROR("--tasks: unknown task kind '" + t.kind + "' in '" + item + "'", hint);
    }
    if (t.name.empty()) UNL_USAGE_ERROR("--tasks: empty task name in '" + item + "'", hint);
    if (!names.insert(t.name).second) UNL_USAGE_ERROR("--tasks: two tasks are named '" + t.name + "'", "give them names: choice:a=...,choice:b=...");
    out.push_back(std::move(t));
  }
  if (out.empty()) UNL_USAGE_ERROR("--tasks is empty", hint);
  return out;
}

}  // namespace unl::eval
