// Forward and forward+backward throughput (tokens/s) of one causal LM on CPU, default shaped like
// GPT-Neo-125M at the ICU batch (8 x 200). Prints one JSON line. Smaller shapes via key=value args:
//   bench_model_throughput layers=2 hidden=256 heads=4 vocab=50257 seq=200 batch=8 iters=3
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "model/causal_lm.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args = {
      {"family", "gpt-neo"}, {"layers", "12"}, {"hidden", "768"}, {"heads", "12"},
      {"vocab", "50257"},    {"seq", "200"},   {"batch", "8"},    {"iters", "3"},
      {"warmup", "1"},       {"threads", "0"}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos || !args.count(a.substr(0, eq))) {
      std::cerr << "usage: " << argv[0]
                << " [family=gpt-neo|gpt2|llama] [layers=N] [hidden=N] [heads=N] [vocab=N] [seq=N]"
                   " [batch=N] [iters=N] [warmup=N] [threads=N]\n";
      return 2;
    }
    args[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto num = [&](const char* k) { return std::stoll(args[k]); };
  if (num("threads") > 0) torch::set_num_threads(static_cast<int>(num("threads")));

  try {
    unl::model::ModelConfig c;
    const std::string fam = args["family"];
    if (fam != "gpt-neo" && fam != "gpt2" && fam != "llama") {
      std::cerr << "bench_model_throughput: family must be gpt-neo, gpt2 or llama\n";
      return 2;
    }
    c.family = fam == "gpt2"    ? unl::model::Family::kGpt2
               : fam == "llama" ? unl::model::Family::kLlama
                                : unl::model::Family::kGptNeo;
    c.num_layers = num("layers");
    c.hidden_size = num("hidden");
    c.num_heads = c.num_kv_heads = num("heads");
    c.intermediate_size = 4 * c.hidden_size;
    c.vocab_size = num("vocab");
    c.bos_token_id = c.eos_token_id = c.vocab_size - 1;  // GPT-2's 50256 at the default vocab
    c.max_position_embeddings = std::max<int64_t>(2048, num("seq"));
    c.attention_layers.clear();  // make_causal_lm: GPT-Neo's default, alternate global / local
    if (c.family == unl::model::Family::kLlama) c.activation = "silu", c.tie_word_embeddings = false;
    torch::manual_seed(0);
    auto model = unl::model::make_causal_lm(c);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();

    const int64_t batch = num("batch"), seq = num("seq");
    auto ids = torch::randint(c.vocab_size, {batch, seq}, torch::kLong);
    auto mask = torch::ones({batch, seq}, torch::kLong);
    auto step = [&](bool backward) {
      if (!backward) {
        torch::NoGradGuard no_grad;
        model->forward(ids, mask);
        return;
      }
      auto logits = model->forward(ids, mask).logits;
      auto loss = torch::nll_loss(
          torch::log_softmax(logits.narrow(1, 0, seq - 1).reshape({-1, c.vocab_size}), -1),
          ids.narrow(1, 1, seq - 1).reshape({-1}));
      loss.backward();
      model->zero_grad();
    };
    for (int64_t i = 0; i < num("warmup"); ++i) step(true);
    const int64_t iters = num("iters");
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < iters; ++i) step(false);
    const double fwd = seconds_since(t0) / iters;
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < iters; ++i) step(true);
    const double fwd_bwd = seconds_since(t0) / iters;

    nlohmann::json j = {{"bench", "model_throughput"}, {"family", args["family"]},
                        {"layers", c.num_layers},      {"hidden", c.hidden_size},
                        {"heads", c.num_heads},        {"vocab", c.vocab_size},
                        {"seq", seq},                  {"batch", batch},
                        {"params", params},            {"threads", torch::get_num_threads()},
                        {"iters", iters},              {"forward_s", fwd},
                        {"forward_backward_s", fwd_bwd},
                        {"forward_tokens_per_s", batch * seq / fwd},
                        {"tokens_per_s", batch * seq / fwd_bwd}};
    std::cout << j.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "bench_model_throughput: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
