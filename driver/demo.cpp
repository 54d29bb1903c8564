// The embedded demo: writes its data and configs, then drives the real subcommands as child
// processes (init, train, mpiexec ... run, eval) exactly as a user would, and prints the outcome.
#include "driver/demo.h"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/common.h"
#include "model/embedded_assets.h"
#include "shard/shard.h"

extern char** environ;

namespace unl::driver {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kFirst[] = {"Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
                        "Kavya", "Liam", "Maren", "Nikolai", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tilde",
                        "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zofia"};
const char* kLast[] = {"Albers", "Brandt", "Castillo", "Duarte", "Eklund", "Fischer", "Gallo", "Horvat", "Ivanova",
                       "Jensen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quintero",
                       "Rossi", "Sato", "Tanaka", "Ueda", "Vidal", "Weber", "Xu", "Yilmaz", "Zeller"};
const char* kStreets[] = {"Oak Street", "Mill Lane", "Harbour Road", "Linden Avenue", "Quarry Hill", "Station Road",
                          "Elm Court", "Orchard Way", "Canal Street", "Beacon Row"};
const char* kCities[] = {"Springfield", "Riverton", "Lakeside", "Fairview", "Greenville", "Brookhaven", "Ashford",
                         "Millbrook"};

int run_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string line;
  for (const auto& a : args) line += a + " ";
  log::info("$ {}", line);
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  UNL_CHECK(rc == 0, "cannot start '" + args[0] + "': " + std::strerror(rc),
            args[0] == "mpiexec" ? "install Open MPI (scripts/install-deps)" : "check the installation");
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
  UNL_CHECK(out.good(), "cannot write '" + p.string() + "'", "check that the demo output directory is writable");
}

void write_jsonl(const fs::path& p, const std::vector<std::pair<int64_t, std::string>>& rows) {
  std::string text;
  for (const auto& [id, t] : rows) text += json{{"id", id}, {"text", t}}.dump() + "\n";
  write_file(p, text);
}

}  // namespace

std::string synthetic_record(int64_t i) {
  shard::SplitMix64 rng(0xD3E0ULL * 1000003ULL + static_cast<uint64_t>(i));
  const std::string first = kFirst[rng.below(26)], last = kLast[rng.below(26)];
  std::string user = first + "." + last;
  std::transform(user.begin(), user.end(), user.begin(), ::tolower);
  const char* domains[] = {"example.org", "mail.example.com", "post.example.net"};
  return fmt::format("{} {} lives at {} {}, {} {:05d}. Email {}{}@{}, phone +1 555 {:03d} {:04d}.", first, last,
                     1 + rng.below(199), kStreets[rng.below(10)], kCities[rng.below(8)], rng.below(100000), user,
                     rng.below(90) + 10, domains[rng.below(3)], rng.below(1000), rng.below(10000));
}

std::vector<std::string> read_fortunes(size_t max_count, size_t max_chars) {
  std::vector<std::string> out;
  const fs::path dir = "/usr/share/games/fortunes";
  UNL_CHECK(fs::is_directory(dir), "no fortunes at " + dir.string(),
            "install Debian's `fortunes` package (scripts/install-deps does)");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && !e.path().has_extension()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line, cur;
    while (std::getline(in, line)) {
      if (line == "%") {
        if (!cur.empty() && cur.size() <= max_chars) out.push_back(cur);
        cur.clear();
        if (out.size() >= max_count) return out;
      } else {
        cur += (cur.empty() ? "" : "\n") + line;
      }
    }
  }
  return out;
}

namespace {

// The demo corpus: 160 synthetic personal records (32 to forget) and public text (fortunes). Each
// record appears kRecordCopies times in the training text: duplicated personal data is what
// language models memorise verbatim (Kandpal et al. 2022), and it lets a small model do so in minutes.
constexpr int64_t kRecords = 160, kForget = 32, kRecordCopies = 4;
constexpr size_t kTrainFortunes = 800, kHeldoutFortunes = 100;

void write_demo_data(const fs::path& data) {
  fs::create_directories(data);
  auto fortunes = read_fortunes(kTrainFortunes + kHeldoutFortunes, 220);
  UNL_CHECK(fortunes.size() == kTrainFortunes + kHeldoutFortunes,
            "only " + std::to_string(fortunes.size()) + " fortunes found", "reinstall the `fortunes` package");
  std::vector<std::pair<int64_t, std::string>> train, forget, retain, heldout;
  for (int64_t i = 0; i < kRecords; ++i) {
    const std::string r = synthetic_record(i);
    for (int64_t c = 0; c < kRecordCopies; ++c) train.push_back({i + 100000 * c, r});  // ids stay unique
    (i < kForget ? forget : retain).push_back({i, r});
  }
  for (size_t i = 0; i < fortunes.size(); ++i) {
    const int64_t id = 1000 + static_cast<int64_t>(i);
    if (i < kTrainFortunes) {
      train.push_back({id, fortunes[i]});
      retain.push_back({id, fortunes[i]});
    } else {
      heldout.push_back({id, fortunes[i]});
    }
  }
  write_jsonl(data / "train.jsonl", train);
  write_jsonl(data / "forget.jsonl", forget);
  write_jsonl(data / "retain.jsonl", retain);
  write_jsonl(data / "heldout.jsonl", heldout);
  log::info("demo: {} training texts ({} synthetic personal records x {}, {} fortunes); forgetting {} records",
            train.size(), kRecords, kRecordCopies, kTrainFortunes, kForget);
}

std::vector<std::string> mpirun(const DemoArgs& args, const std::string& exe) {
  return {"mpiexec", "-n", std::to_string(args.ranks), "--oversubscribe", exe};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A small GPT-Neo over the demo's own vocabulary (assets/demo: byte-level BPE trained on this
// corpus), fitted until it regurgitates the records. Cached: a second demo skips this.
void fit_base(const DemoArgs& args, const fs::path& out, const std::string& exe) {
  const json vocab = json::parse(model::assets::demo_vocab_json());
  const int64_t eot = static_cast<int64_t>(vocab.size()) - 1;
  write_file(out / "gpt-neo-demo.json",
             json{{"model_type", "gpt_neo"}, {"vocab_size", vocab.size()}, {"hidden_size", 128}, {"num_layers", 4},
                  {"num_heads", 4}, {"intermediate_size", 512}, {"max_position_embeddings", 128}, {"window_size", 32},
                  {"attention_types", json::array({json::array({json::array({"global", "local"}), 2})})},
                  {"activation_function", "gelu_new"}, {"bos_token_id", eot}, {"eos_token_id", eot}}
                 .dump(2));
  if (run_child({exe, "init", "--family", "gpt-neo", "--config", (out / "gpt-neo-demo.json").string(), "--out",
                 (out / "init").string(), "--seed", "7"}) != 0)
    UNL_THROW("demo: `unlearn init` failed", "see its message above");
  write_file(out / "init" / "vocab.json", std::string(model::assets::demo_vocab_json()));
  write_file(out / "init" / "merges.txt", std::string(model::assets::demo_merges_txt()));
  write_file(out / "train.toml", fmt::format(R"(# Fit the demo model on the demo data until it memorises the records.
[model]
path = "{}"
[data]
forget = "data/train.jsonl"
max_tokens = 64
[optim]
lr = 2e-3
beta2 = 0.999
[train]
batch_size = 16
max_epochs = {}
[checkpoint]
keep_last = 1
[output]
dir = "base"
)",
                                             (out / "init").string(), args.base_epochs));
  if (run_child(mpirun(args, exe) + std::vector<std::string>{"train", "--config", (out / "train.toml").string()}) != 0)
    UNL_THROW("demo: fitting the base model failed", "see the messages above");
}

// ICU on several ranks: forget 32 records, neighbours mined from the rest.
void run_icu(const DemoArgs& args, const fs::path& out, const std::string& exe) {
  write_file(out / "icu.toml", fmt::format(R"(# ICU: forget 32 personal records, keep the rest.
[model]
path = "{}"
[data]
forget = "data/forget.jsonl"
retain = "data/retain.jsonl"
heldout = "data/heldout.jsonl"
max_tokens = 64
[method]
name = "icu"
[optim]
lr = 2e-4
[train]
batch_size = 8
max_epochs = 40
[neighbours]
span_begin = 0
span_end = -1
[eval]
# A record is about 50 tokens of the demo vocabulary: prompt with the first 12 (name, house
# number) and compare the next 24 (street, city, postcode, e-mail). The paper's window starts at
# token 100 of longer texts.
n = 5
suffix_start = 8
prompt_begin = 0
prefix_len = 12
gen_len = 24
[thresholds]
# Personal data: a record leaves only when it is below every threshold (BLEU, EL5 and MA), which
# is stricter than the paper's rule (BLEU alone, thresholds.rule = "official"). As in the paper,
# the MA and EL thresholds are what the model scores on data it never saw: the base model scores
# MA 0.600 and EL5 0.163 on 32 new records of the same form.
rule = "all"
mode = "fixed"
ma = 0.60
el = 0.16
bleu = 0.05
[output]
dir = "icu"
)",
                                           (out / "base" / "final").string()));
  fs::remove_all(out / "icu");
  if (run_child(mpirun(args, exe) + std::vector<std::string>{"run", "--config", (out / "icu.toml").string(), "--fresh"}) != 0)
    UNL_THROW("demo: the unlearning job failed", "see the messages above");
}

void print_result(const fs::path& out) {
  std::ifstream in(out / "icu" / "report.json");
  json r = json::parse(in, nullptr, false);
  UNL_CHECK(!r.is_discarded(), "demo: the unlearning job wrote no readable report.json", "see the messages above");
  const auto& b = r["before"];
  const auto& a = r["after"];
  fmt::print("\n=== demo result ({} ranks, stop: {}, {} epochs) ===\n", r["world_size"].get<int>(),
             r["stop_reason"].get<std::string>(), r["epochs"].size());
  fmt::print("                       before    after\n");
  fmt::print("forget mean MA         {:7.4f}  {:7.4f}\n", b["mean_ma"].get<double>(), a["mean_ma"].get<double>());
  fmt::print("forget mean EL5        {:7.4f}  {:7.4f}\n", b["mean_el"].get<double>(), a["mean_el"].get<double>());
  fmt::print("forget mean BLEU-4     {:7.4f}  {:7.4f}\n", b["mean_bleu"].get<double>(), a["mean_bleu"].get<double>());
  fmt::print("held-out perplexity    {:7.2f}  {:7.2f}\n", b["heldout_ppl"].get<double>(), a["heldout_ppl"].get<double>());
  for (const auto& e : r["examples"]) {
    fmt::print("\nrecord {}: prompt  \"{}\"\n   true continuation \"{}\"\n   before unlearning \"{}\"\n   after unlearning  \"{}\"\n",
               e["id"].get<int64_t>(), e["prompt"].get<std::string>(), e["reference"].get<std::string>(),
               e["before"].get<std::string>(), e["after"].get<std::string>());
  }
  fmt::print("\nreport: {}\nmodel:  {}\n", (out / "icu" / "report.html").string(), (out / "icu" / "final").string());
}

}  // namespace

int cmd_demo(const DemoArgs& args, const char* argv0) {
  const fs::path out = fs::absolute(args.out);
  write_demo_data(out / "data");
  if (args.data_only) return 0;
  const std::string self =
      fs::absolute(fs::path(argv0).has_parent_path() ? fs::path(argv0) : fs::path("/proc/self/exe")).string();
  const std::string exe = fs::exists(self) ? self : fs::read_symlink("/proc/self/exe").string();
  if (geteuid() == 0) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  if (args.rebuild_base) fs::remove_all(out / "base");
  if (!fs::exists(out / "base" / "final" / "model.safetensors"))
    fit_base(args, out, exe);
  else
    log::info("demo: using the cached base model {} (--rebuild-base to fit it again)", (out / "base" / "final").string());
  run_icu(args, out, exe);
  print_result(out);
  return 0;
}

}  // namespace unl::driver
