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

int cmd_demo(const DemoArgs& args, const char* argv0) {
  const fs::path out = fs::absolute(args.out);
  const fs::path data = out / "data";
  fs::create_directories(data);
  const std::string self = fs::absolute(fs::path(argv0).has_parent_path() ? fs::path(argv0) : fs::path("/proc/self/exe"))
                               .string();
  const std::string exe = fs::exists(self) ? self : fs::read_symlink("/proc/self/exe").string();
  if (geteuid() == 0) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }

  // 1. Data: 160 synthetic personal records and public text; 32 records are to be forgotten.
  const int64_t kRecords = 160, kForget = 32;
  auto fortunes = read_fortunes(200, 220);
  UNL_CHECK(fortunes.size() >= 136, "only " + std::to_string(fortunes.size()) + " fortunes found",
            "reinstall the `fortunes` package");
  std::vector<std::pair<int64_t, std::string>> train, forget, retain, heldout;
  for (int64_t i = 0; i < kRecords; ++i) {
    const std::string r = synthetic_record(i);
    train.push_back({i, r});
    (i < kForget ? forget : retain).push_back({i, r});
  }
  for (size_t i = 0; i < fortunes.size(); ++i) {
    const int64_t id = 1000 + static_cast<int64_t>(i);
    if (i < 96) {
      train.push_back({id, fortunes[i]});
      retain.push_back({id, fortunes[i]});
    } else if (i < 136) {
      heldout.push_back({id, fortunes[i]});
    }
  }
  write_jsonl(data / "train.jsonl", train);
  write_jsonl(data / "forget.jsonl", forget);
  write_jsonl(data / "retain.jsonl", retain);
  write_jsonl(data / "heldout.jsonl", heldout);
  log::info("demo: {} training texts ({} synthetic personal records, {} fortunes); forgetting {} records",
            train.size(), kRecords, train.size() - kRecords, kForget);

  // 2. The base model: a small GPT-Neo with the GPT-2 tokenizer, fine-tuned until it
  //    regurgitates the records. Cached: a second demo skips this.
  const fs::path base = out / "base" / "final";
  if (args.rebuild_base) fs::remove_all(out / "base");
  if (!fs::exists(base / "model.safetensors")) {
    write_file(out / "gpt-neo-tiny.json", json{{"model_type", "gpt_neo"}, {"vocab_size", 50257}, {"hidden_size", 96},
                                             {"num_layers", 4}, {"num_heads", 4}, {"intermediate_size", 384},
                                             {"max_position_embeddings", 128}, {"window_size", 32},
                                             {"attention_types", json::array({json::array({json::array({"global", "local"}), 2})})},
                                             {"activation_function", "gelu_new"}, {"bos_token_id", 50256},
                                             {"eos_token_id", 50256}}
                                                .dump(2));
    if (run_child({exe, "init", "--family", "gpt-neo", "--config", (out / "gpt-neo-tiny.json").string(), "--out",
                   (out / "init").string(), "--seed", "7"}) != 0)
      UNL_THROW("demo: `unlearn init` failed", "see its message above");
    write_file(out / "train.toml", fmt::format(R"(# Fine-tune the tiny model on the demo data until it memorises it.
[model]
path = "{}"
[data]
forget = "data/train.jsonl"
max_tokens = 64
[optim]
lr = 3e-3
beta2 = 0.999
[train]
batch_size = 16
max_epochs = 24
[checkpoint]
keep_last = 1
[output]
dir = "base"
)",
                                             (out / "init").string()));
    if (run_child({"mpiexec", "-n", std::to_string(args.ranks), "--oversubscribe", exe, "train", "--config",
                   (out / "train.toml").string()}) != 0)
      UNL_THROW("demo: fine-tuning the base model failed", "see the messages above");
  } else {
    log::info("demo: using the cached base model {} (--rebuild-base to train it again)", base.string());
  }

  // 3. Unlearn 32 records with ICU on several ranks, neighbours mined from the rest.
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
lr = 5e-4
[train]
batch_size = 8
max_epochs = 20
[neighbours]
span_begin = 0
span_end = -1
[eval]
n = 5
suffix_start = 8
prefix_len = 12
gen_len = 16
[thresholds]
mode = "fixed"
ma = 0.5
el = 0.05
bleu = 0.05
[output]
dir = "icu"
)",
                                           base.string()));
  fs::remove_all(out / "icu");
  if (run_child({"mpiexec", "-n", std::to_string(args.ranks), "--oversubscribe", exe, "run", "--config",
                 (out / "icu.toml").string(), "--fresh"}) != 0)
    UNL_THROW("demo: the unlearning job failed", "see the messages above");

  // 4. What was forgotten and what was kept.
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
  return 0;
}

}  // namespace unl::driver
