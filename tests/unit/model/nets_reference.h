// Test-only reference forwards of the three families, written independently of model/: one
// unpadded sequence at a time, double precision, attention as explicit per-query loops.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "model/causal_lm.h"
#include "model/config.h"

namespace unl::model::testing {

using Params = std::map<std::string, torch::Tensor>;

inline ModelConfig tiny_config(Family family) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = 11;
  c.max_position_embeddings = 32;
  c.eos_token_id = 10;
  c.bos_token_id = 10;
  switch (family) {
    case Family::kGptNeo:
      c.hidden_size = 8, c.num_layers = 2, c.num_heads = 2, c.num_kv_heads = 2;
      c.intermediate_size = 12, c.window_size = 3, c.attention_layers = {"global", "local"};
      break;
    case Family::kGpt2:
      c.hidden_size = 8, c.num_layers = 1, c.num_heads = 2, c.num_kv_heads = 2;
      c.intermediate_size = 12;
      break;
    case Family::kLlama:
      c.hidden_size = 16, c.num_layers = 1, c.num_heads = 4, c.num_kv_heads = 2;
      c.intermediate_size = 12, c.activation = "silu", c.tie_word_embeddings = false;
      c.attention_bias = true, c.qkv_bias = true, c.rope_theta = 100.0, c.rms_norm_eps = 1e-6;
      break;
  }
  return c;
}

/// A model of the family with every parameter (biases and norm weights included) randomised,
/// so a swapped orientation or a missed bias cannot hide behind zeros and ones.
inline CausalLM random_model(const ModelConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  CausalLM m = make_causal_lm(config);
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) p.normal_(0.0, 0.5);
  return m;
}

inline Params params_of(CausalLMImpl& m) {
  Params out;
  for (auto& item : m.named_parameters()) out[item.key()] = item.value().detach().to(torch::kDouble);
  return out;
}

inline torch::Tensor ref_layer_norm(const torch::Tensor& x, const torch::Tensor& w,
                                    const torch::Tensor& b, double eps) {
  auto mean = x.mean(-1, true);
  auto var = (x - mean).pow(2).mean(-1, true);
  return (x - mean) / (var + eps).sqrt() * w + b;
}

inline torch::Tensor ref_gelu_new(const torch::Tensor& x) {
  return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
}

/// q [T, H*D], k/v [T, KV*D]; query head h reads kv head h / (H / KV); allowed(i, j) says
/// whether query i sees key j. Softmax only over the allowed keys.
template <typename Allowed>
torch::Tensor ref_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            int64_t heads, int64_t kv_heads, double scale, Allowed allowed) {
  const int64_t t = q.size(0), d = q.size(1) / heads;
  auto out = torch::zeros_like(q);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv_heads);
    for (int64_t i = 0; i < t; ++i) {
      std::vector<double> s;
      std::vector<int64_t> keys;
      for (int64_t j = 0; j < t; ++j) {
        if (!allowed(i, j)) continue;
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) {
          dot += q[i][h * d + e].item<double>() * k[j][g * d + e].item<double>();
        }
        s.push_back(dot * scale);
        keys.push_back(j);
      }
      double mx = -1e300, z = 0;
      for (double x : s) mx = std::max(mx, x);
      for (double x : s) z += std::exp(x - mx);
      for (size_t n = 0; n < keys.size(); ++n) {
        out[i].narrow(0, h * d, d) += (std::exp(s[n] - mx) / z) * v[keys[n]].narrow(0, g * d, d);
      }
    }
  }
  return out;
}

inline torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong);
}

/// GPT-Neo: unscaled scores, local layers see keys i - j < window.
inline torch::Tensor ref_gpt_neo(const Params& p, const ModelConfig& c, const std::vector<int64_t>& ids) {
  const int64_t t = static_cast<int64_t>(ids.size());
  auto x = p.at("transformer.wte.weight").index_select(0, ids_tensor(ids)) +
           p.at("transformer.wpe.weight").narrow(0, 0, t);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string pre = "transformer.h." + std::to_string(l) + ".";
    const std::string at = pre + "attn.attention.";
    const bool local = c.attention_layers[l] == "local";
    auto h = ref_layer_norm(x, p.at(pre + "ln_1.weight"), p.at(pre + "ln_1.bias"), c.layer_norm_eps);
    auto q = h.mm(p.at(at + "q_proj.weight").t());
    auto k = h.mm(p.at(at + "k_proj.weight").t());
    auto v = h.mm(p.at(at + "v_proj.weight").t());
    auto a = ref_attention(q, k, v, c.num_heads, c.num_heads, 1.0, [&](int64_t i, int64_t j) {
      return j <= i && (!local || i - j < c.window_size);
    });
    x = x + a.mm(p.at(at + "out_proj.weight").t()) + p.at(at + "out_proj.bias");
    h = ref_layer_norm(x, p.at(pre + "ln_2.weight"), p.at(pre + "ln_2.bias"), c.layer_norm_eps);
    auto m = ref_gelu_new(h.mm(p.at(pre + "mlp.c_fc.weight").t()) + p.at(pre + "mlp.c_fc.bias"));
    x = x + m.mm(p.at(pre + "mlp.c_proj.weight").t()) + p.at(pre + "mlp.c_proj.bias");
  }
  x = ref_layer_norm(x, p.at("transformer.ln_f.weight"), p.at("transformer.ln_f.bias"), c.layer_norm_eps);
  return x.mm(p.at("transformer.wte.weight").t());
}

/// GPT-2: Conv1D weights [in, out] used as x @ W + b, scores / sqrt(head_dim).
inline torch::Tensor ref_gpt2(const Params& p, const ModelConfig& c, const std::vector<int64_t>& ids) {
  const int64_t t = static_cast<int64_t>(ids.size()), e = c.hidden_size;
  auto x = p.at("transformer.wte.weight").index_select(0, ids_tensor(ids)) +
           p.at("transformer.wpe.weight").narrow(0, 0, t);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string pre = "transformer.h." + std::to_string(l) + ".";
    auto h = ref_layer_norm(x, p.at(pre + "ln_1.weight"), p.at(pre + "ln_1.bias"), c.layer_norm_eps);
    auto qkv = h.mm(p.at(pre + "attn.c_attn.weight")) + p.at(pre + "attn.c_attn.bias");
    auto a = ref_attention(qkv.narrow(1, 0, e), qkv.narrow(1, e, e), qkv.narrow(1, 2 * e, e),
                           c.num_heads, c.num_heads, 1.0 / std::sqrt(double(e / c.num_heads)),
                           [](int64_t i, int64_t j) { return j <= i; });
    x = x + a.mm(p.at(pre + "attn.c_proj.weight")) + p.at(pre + "attn.c_proj.bias");
    h = ref_layer_norm(x, p.at(pre + "ln_2.weight"), p.at(pre + "ln_2.bias"), c.layer_norm_eps);
    auto m = ref_gelu_new(h.mm(p.at(pre + "mlp.c_fc.weight")) + p.at(pre + "mlp.c_fc.bias"));
    x = x + m.mm(p.at(pre + "mlp.c_proj.weight")) + p.at(pre + "mlp.c_proj.bias");
  }
  x = ref_layer_norm(x, p.at("transformer.ln_f.weight"), p.at("transformer.ln_f.bias"), c.layer_norm_eps);
  return x.mm(p.at("transformer.wte.weight").t());
}

/// Rotates each (m, m + D/2) pair of every head of x [T, heads*D] by position * theta^(-2m/D).
inline torch::Tensor ref_rope(const torch::Tensor& x, int64_t heads, double theta) {
  const int64_t t = x.size(0), d = x.size(1) / heads;
  auto out = x.clone();
  for (int64_t pos = 0; pos < t; ++pos) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t m = 0; m < d / 2; ++m) {
        const double angle = pos * std::pow(theta, -2.0 * m / d);
        const double a = x[pos][h * d + m].item<double>(), b = x[pos][h * d + m + d / 2].item<double>();
        out[pos][h * d + m] = a * std::cos(angle) - b * std::sin(angle);
        out[pos][h * d + m + d / 2] = b * std::cos(angle) + a * std::sin(angle);
      }
    }
  }
  return out;
}

inline torch::Tensor ref_llama(const Params& p, const ModelConfig& c, const std::vector<int64_t>& ids) {
  auto rms = [&](const torch::Tensor& x, const torch::Tensor& w) {
    return x / (x.pow(2).mean(-1, true) + c.rms_norm_eps).sqrt() * w;
  };
  auto lin = [&](const torch::Tensor& x, const std::string& name) {
    auto y = x.mm(p.at(name + ".weight").t());
    return p.count(name + ".bias") ? y + p.at(name + ".bias") : y;
  };
  auto x = p.at("model.embed_tokens.weight").index_select(0, ids_tensor(ids));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    auto h = rms(x, p.at(pre + "input_layernorm.weight"));
    auto q = ref_rope(lin(h, pre + "self_attn.q_proj"), c.num_heads, c.rope_theta);
    auto k = ref_rope(lin(h, pre + "self_attn.k_proj"), c.num_kv_heads, c.rope_theta);
    auto v = lin(h, pre + "self_attn.v_proj");
    auto a = ref_attention(q, k, v, c.num_heads, c.num_kv_heads, 1.0 / std::sqrt(double(c.head_dim())),
                           [&](int64_t i, int64_t j) {
                             return j <= i && (c.sliding_window <= 0 || i - j < c.sliding_window);
                           });
    x = x + lin(a, pre + "self_attn.o_proj");
    h = rms(x, p.at(pre + "post_attention_layernorm.weight"));
    auto g = lin(h, pre + "mlp.gate_proj");
    auto m = (g / (1.0 + (-g).exp())) * lin(h, pre + "mlp.up_proj");
    x = x + lin(m, pre + "mlp.down_proj");
  }
  x = rms(x, p.at("model.norm.weight"));
  return x.mm(p.at(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight").t());
}

inline torch::Tensor ref_logits(const Params& p, const ModelConfig& c, const std::vector<int64_t>& ids) {
  switch (c.family) {
    case Family::kGptNeo: return ref_gpt_neo(p, c, ids);
    case Family::kGpt2: return ref_gpt2(p, c, ids);
    case Family::kLlama: return ref_llama(p, c, ids);
  }
  return {};
}

inline const char* family_label(Family f) {
  switch (f) {
    case Family::kGptNeo: return "GptNeo";
    case Family::kGpt2: return "Gpt2";
    case Family::kLlama: return "Llama";
  }
  return "?";
}

}  // namespace unl::model::testing
