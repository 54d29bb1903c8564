// Hugging Face model directories: load config.json + safetensors into a CausalLM, and save one
// back so `transformers.AutoModelForCausalLM.from_pretrained(dir)` loads it.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "model/causal_lm.h"

namespace unl::model {

struct LoadedModel {
  ModelConfig config;
  CausalLM model;
  std::string dir;
};

/// Name (as hf_state_dict spells it) and shape of every parameter a model built from `config`
/// has, computed from the config alone: nothing is allocated, so a config.json claiming absurd
/// sizes can be checked against the weight files before the model is built.
std::vector<std::pair<std::string, std::vector<int64_t>>> implied_parameter_shapes(
    const ModelConfig& config);

/// Every parameter the config implies must be present with the right shape; unexpected tensors
/// (other than known buffers such as attn.bias masks / rotary inv_freq) are errors naming them.
/// Shapes are checked against the safetensors headers BEFORE the model is allocated, so a
/// config.json claiming e.g. hidden_size 1e5 next to small weights fails fast naming a tensor.
LoadedModel load_pretrained(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                            torch::Device device = torch::kCPU);

/// Writes config.json, model.safetensors (fp32 or the model's dtype) and, when tokenizer_dir is
/// non-empty, copies its vocab.json / merges.txt / tokenizer.json / tokenizer_config.json.
/// Atomic per file; creates out_dir.
void save_pretrained(CausalLMImpl& model, const std::string& out_dir,
                     const std::string& tokenizer_dir = "");

}  // namespace unl::model
