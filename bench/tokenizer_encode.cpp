// Encode throughput of a tokenizer directory on a JSONL corpus of {"text"} lines: MB/s of UTF-8
// input on one thread and on N threads sharing one tokenizer. The directory is loaded as `unlearn`
// loads it (model::Tokenizer::from_dir): tokenizer.json, else GPT-2's vocab.json + merges.txt fast
// path, else SentencePiece's tokenizer.model. Every repeat starts with cold word caches.
// Usage: bench_tokenizer_encode --tokenizer DIR --corpus F.jsonl [--threads N] [--repeat R]
// Prints one JSON line per thread count.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/tokenizer.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  std::string dir, corpus;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--tokenizer") dir = argv[i + 1];
    else if (a == "--corpus") corpus = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
  }
  if (dir.empty() || corpus.empty()) {
    std::fprintf(stderr, "usage: bench_tokenizer_encode --tokenizer DIR --corpus F.jsonl [--threads N] [--repeat R]\n");
    return 2;
  }
  const double t_load = now();
  const auto loaded = unl::model::Tokenizer::from_dir(dir);
  const double load_s = now() - t_load;
  std::vector<std::string> docs;
  size_t bytes = 0;
  std::ifstream in(corpus);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    docs.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
    bytes += docs.back().size();
  }
  for (int n : {1, threads}) {
    if (n < 1) continue;
    double best = 1e30;
    size_t tokens = 0;
    for (int r = 0; r < repeat; ++r) {
      // A fresh copy per repeat: the caches start empty, as in a new process.
      const auto tok = unl::model::Tokenizer::from_dir(dir);
      std::vector<size_t> counts(n, 0);
      const double t0 = now();
      std::vector<std::thread> pool;
      for (int t = 0; t < n; ++t)
        pool.emplace_back([&, t] {
          for (size_t d = t; d < docs.size(); d += n) counts[t] += tok.encode(docs[d], false).size();
        });
      for (auto& th : pool) th.join();
      best = std::min(best, now() - t0);
      tokens = 0;
      for (size_t c : counts) tokens += c;
    }
    std::printf("{\"tokenizer\": \"%s\", \"implementation\": \"unlearn\", \"threads\": %d, \"docs\": %zu, \"mb\": %.3f, \"tokens\": %zu, \"seconds\": %.4f, "
                "\"mb_per_s\": %.2f, \"load_s\": %.2f}\n",
                dir.c_str(), n, docs.size(), bytes / 1e6, tokens, best, bytes / 1e6 / best, load_s);
    if (n == threads) break;
  }
  return 0;
}
