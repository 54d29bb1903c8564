// The task files of `unlearn eval --tasks` (torch-free): one JSON object per line, read into
// plain documents. A malformed line throws naming the file and the line. Formats:
// docs/evaluation.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unl::eval {

/// choice: {"context": str, "choices": [str, ...] (>= 2), "label": int in [0, len(choices))}
struct ChoiceDoc {
  std::string context;
  std::vector<std::string> choices;
  int64_t label = 0;
};
/// lambada: {"text": str} (the target is the last space-separated word, with its leading space)
/// or {"context": str, "target": str}.
struct LambadaDoc {
  std::string context, target;
};
/// dialogue: {"context": "User 1: ...\nUser 2: ...", "response": str}
struct DialogueDoc {
  std::string context, response;
};

/// TOFU-style question/answer rows: {"question": str, "answer": str, "paraphrased_answer": str,
/// "perturbed_answer": [str, ...] (>= 1)}. `paraphrased_answer` is needed when need_paraphrase
/// (the forget and retain sets); TOFU's real-authors / world-facts rows have none and score the
/// answer against the perturbed ones as options. A single perturbed string is read as a list of one.
struct TofuDoc {
  std::string question, answer, paraphrased;
  std::vector<std::string> perturbed;
};

std::vector<ChoiceDoc> read_choice_file(const std::string& path);
std::vector<LambadaDoc> read_lambada_file(const std::string& path);
std::vector<DialogueDoc> read_dialogue_file(const std::string& path);
/// ppl: {"text": str} per line (.jsonl) or, any other extension, the whole file as one document.
std::vector<std::string> read_ppl_file(const std::string& path);
std::vector<TofuDoc> read_tofu_file(const std::string& path, bool need_paraphrase);

/// One `--tasks` item: "kind=FILE" or "kind:name=FILE", or a bare kind that needs no file ("mia").
/// The name defaults to the kind, except for the TOFU kinds, whose name is the prefix of their
/// metric names as open-unlearning writes them: tofu -> "forget", tofu_retain -> "retain",
/// tofu_options -> "options" (name TOFU's sets "ra" and "wf").
struct TaskSpec {
  std::string kind, name, path;
};
/// Parses "choice=a.jsonl,lambada:lam=b.jsonl,mia,tofu=f.jsonl"; throws UsageError on unknown kinds or a
/// missing file name, or when two tasks share a name.
std::vector<TaskSpec> parse_task_list(const std::string& text);

}  // namespace unl::eval
