// Shared architecture pieces: attention context (positions + masks once per forward), the masked
// attention kernel, KV-cache append, Conv1D, RMSNorm and HF-style initialisation.
#include "model/nets_common.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "common/error.h"

namespace unl::model::detail {

namespace {
std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}
}  // namespace

AttentionContext make_attention_context(const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask, int64_t past,
                                        int64_t window) {
  UNL_CHECK(input_ids.defined() && input_ids.dim() == 2,
            "input_ids must be [batch, seq], got " +
                (input_ids.defined() ? shape_str(input_ids) : std::string("undefined")),
            "pass a 2-D int64 tensor of token ids");
  const int64_t batch = input_ids.size(0), len = input_ids.size(1), total = past + len;
  const auto device = input_ids.device();
  AttentionContext ctx;
  ctx.past = past;

  bool padded = false;
  torch::Tensor mask;
  if (attention_mask.defined()) {
    UNL_CHECK(attention_mask.dim() == 2 && attention_mask.size(0) == batch &&
                  attention_mask.size(1) == total,
              fmt::format("attention_mask has shape {} but the batch needs [{}, {}] ({} cached + "
                          "{} new positions)",
                          shape_str(attention_mask), batch, total, past, len),
              "the mask covers the cached positions and the new tokens");
    // Any nonzero value is a real token (kMaskPrompt marks prompt tokens for the losses).
    mask = attention_mask.to(device).ne(0).to(torch::kLong);
    padded = !mask.all().item<bool>();
  }
  if (padded) {
    // HF generate(): position = number of real tokens before this one, so left padding shifts
    // nothing for real tokens.
    ctx.position_ids =
        (mask.cumsum(1) - 1).clamp_min(0).narrow(1, past, len).contiguous();
  } else {
    ctx.position_ids =
        torch::arange(past, total, torch::TensorOptions().dtype(torch::kLong).device(device))
            .unsqueeze(0)
            .expand({batch, len});
  }

  auto idx = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto distance = torch::arange(past, total, idx).unsqueeze(1) - torch::arange(total, idx).unsqueeze(0);
  auto future = distance.lt(0);  // [T, T_k]
  torch::Tensor pad_keys;        // [B, 1, 1, T_k]
  if (padded) pad_keys = mask.eq(0).view({batch, 1, 1, total});
  auto combine = [&](const torch::Tensor& causal) {
    auto b = causal.view({1, 1, len, total});
    return padded ? b.logical_or(pad_keys) : b;
  };
  ctx.blocked = combine(future);
  if (window > 0) ctx.blocked_local = combine(future.logical_or(distance.ge(window)));
  return ctx;
}

double mask_value(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat: return std::numeric_limits<float>::lowest();
    case torch::kDouble: return std::numeric_limits<double>::lowest();
    case torch::kBFloat16: return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case torch::kHalf: return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    default:
      UNL_THROW(std::string("attention scores of unsupported dtype ") + c10::toString(dtype),
                "use float32, bfloat16 or float16 weights");
  }
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

torch::Tensor merge_heads(const torch::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& blocked, const ScoreRule& rule) {
  torch::Tensor scores;
  if (rule.scores_fp32) {
    scores = torch::matmul(q.to(torch::kFloat), k.to(torch::kFloat).transpose(-1, -2));
  } else {
    scores = torch::matmul(q, k.transpose(-1, -2));
  }
  // In place: matmul's backward does not need its output, and this saves a [B,H,T,T] buffer.
  if (rule.divide_by != 1.0) scores.div_(rule.divide_by);
  if (rule.multiply_by != 1.0) scores.mul_(rule.multiply_by);
  scores.masked_fill_(blocked, mask_value(scores.scalar_type()));
  torch::Tensor probs = rule.softmax_fp32 ? torch::softmax(scores, -1, torch::kFloat)
                                          : torch::softmax(scores, -1);
  if (probs.scalar_type() != v.scalar_type()) probs = probs.to(v.scalar_type());
  return torch::matmul(probs, v);
}

std::pair<torch::Tensor, torch::Tensor> append_kv(KVCache* cache, size_t layer, torch::Tensor k,
                                                  torch::Tensor v) {
  if (cache == nullptr) return {std::move(k), std::move(v)};
  if (cache->keys.size() <= layer) {
    cache->keys.resize(layer + 1);
    cache->values.resize(layer + 1);
  }
  auto& ck = cache->keys[layer];
  auto& cv = cache->values[layer];
  if (ck.defined()) {
    ck = torch::cat({ck, k}, 2);
    cv = torch::cat({cv, v}, 2);
  } else {
    ck = k.contiguous();
    cv = v.contiguous();
  }
  return {ck, cv};
}

torch::Tensor lm_logits(const torch::Tensor& hidden, const torch::Tensor& weight) {
  if (hidden.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat) {
    return torch::linear(hidden, weight);
  }
  return torch::linear(hidden.to(torch::kFloat), weight.to(torch::kFloat));
}

Conv1DImpl::Conv1DImpl(int64_t in_features, int64_t out_features) {
  weight = register_parameter("weight", torch::empty({in_features, out_features}));
  bias = register_parameter("bias", torch::zeros({out_features}));
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = weight.size(1);
  return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(out_sizes);
}

RMSNormImpl::RMSNormImpl(int64_t size, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({size}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat);
  auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

void init_hf_weights(torch::nn::Module& module, double std,
                     const std::function<double(const std::string&)>& std_for) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    // The owning module's own name: "transformer.h.0.ln_1.weight" -> "ln_1".
    const std::string stem = name.substr(0, name.rfind('.'));
    const auto dot = stem.rfind('.');
    const std::string owner = dot == std::string::npos ? stem : stem.substr(dot + 1);
    const bool is_norm = owner.rfind("ln_", 0) == 0 || owner.find("norm") != std::string::npos;
    if (is_bias) {
      p.zero_();
    } else if (is_norm) {
      p.fill_(1.0);
    } else {
      p.normal_(0.0, std_for ? std_for(name) : std);
    }
  }
}

}  // namespace unl::model::detail
