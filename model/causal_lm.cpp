// The family-independent half of the CausalLM seam: construction by family, deep copies, the
// Hugging Face state dict (tied weights once) and KV-cache row selection for beam search.
#include "model/causal_lm.h"

#include <fmt/format.h>

#include "common/error.h"
#include "model/gpt2.h"
#include "model/gpt_neo.h"
#include "model/llama.h"

namespace unl::model {

void KVCache::select_rows(const torch::Tensor& index) {
  for (auto* list : {&keys, &values}) {
    for (auto& t : *list) {
      if (t.defined()) t = t.index_select(0, index.to(t.device(), torch::kLong));
    }
  }
}

CausalLM make_causal_lm(const ModelConfig& requested) {
  ModelConfig config = requested;
  if (config.family == Family::kGptNeo && config.attention_layers.empty()) {
    // HF's default attention_types [[["global", "local"], n/2]]: alternate, starting global.
    for (int64_t i = 0; i < config.num_layers; ++i) {
      config.attention_layers.push_back(i % 2 ? "local" : "global");
    }
  }
  config.validate();
  UNL_CHECK(config.family != Family::kLlama || config.head_dim() % 2 == 0,
            fmt::format("head_dim {} is odd; rotary embeddings need an even head_dim",
                        config.head_dim()),
            "fix hidden_size / num_attention_heads in the model config");
  switch (config.family) {
    case Family::kGptNeo: return std::make_shared<GptNeoForCausalLMImpl>(config);
    case Family::kGpt2: return std::make_shared<Gpt2ForCausalLMImpl>(config);
    case Family::kLlama: return std::make_shared<LlamaForCausalLMImpl>(config);
  }
  UNL_THROW("unknown model family", "use gpt-neo, gpt2 or llama");
}

CausalLM clone_causal_lm(CausalLMImpl& model) {
  CausalLM copy = make_causal_lm(model.config());
  torch::NoGradGuard no_grad;
  auto src = model.named_parameters(/*recurse=*/true);
  auto dst = copy->named_parameters(/*recurse=*/true);
  UNL_CHECK(src.size() == dst.size(),
            fmt::format("clone: source has {} parameters, a fresh model {}", src.size(), dst.size()),
            "clone_causal_lm needs a model built by make_causal_lm");
  for (auto& item : src) {
    torch::Tensor* target = dst.find(item.key());
    UNL_CHECK(target != nullptr, "clone: no parameter '" + item.key() + "' in a fresh model",
              "clone_causal_lm needs a model built by make_causal_lm");
    // set_data keeps the Parameter object (optimisers may hold it) and adopts dtype/device.
    target->set_data(item.value().detach().clone());
    target->set_requires_grad(item.value().requires_grad());
  }
  return copy;
}

std::vector<std::pair<std::string, torch::Tensor>> hf_state_dict(CausalLMImpl& model) {
  // Tied lm_head is not a parameter of ours (logits reuse the input embedding), so
  // named_parameters already lists every tensor exactly once under its HF name.
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

}  // namespace unl::model
