// Adam with torch.optim.Adam's arithmetic, plus named state import/export for checkpoints.
#include "unlearn/adam.h"

#include <cmath>
#include <map>

#include "common/error.h"

namespace unl::unlearn {

Adam::Adam(NamedTensors params, AdamOptions options)
    : params_(std::move(params)), options_(options) {
  UNL_CHECK(options_.lr >= 0 && options_.eps >= 0 && options_.beta1 >= 0 && options_.beta1 < 1 &&
                options_.beta2 >= 0 && options_.beta2 < 1,
            "invalid Adam options (lr " + std::to_string(options_.lr) + ", betas " +
                std::to_string(options_.beta1) + "/" + std::to_string(options_.beta2) + ", eps " +
                std::to_string(options_.eps) + ")",
            "use lr >= 0, 0 <= beta < 1 and eps >= 0 (defaults: 5e-6, 0.9, 0.98, 1e-8)");
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double bias_correction1 = 1 - std::pow(b1, static_cast<double>(steps_));
  const double bias_correction2 = 1 - std::pow(b2, static_cast<double>(steps_));
  const double step_size = options_.lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    const auto& g = p.grad();
    if (!g.defined()) continue;
    exp_avg_[i].mul_(b1).add_(g, 1 - b1);
    exp_avg_sq_[i].mul_(b2).addcmul_(g, g, 1 - b2);
    // One temporary the size of the parameter (not two): the same operations, in place.
    auto denom = exp_avg_sq_[i].sqrt();
    denom.div_(bias_correction2_sqrt).add_(options_.eps);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

void Adam::zero_grad() {
  for (auto& [name, p] : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

NamedTensors Adam::state() const {
  NamedTensors out;
  out.reserve(2 * params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + params_[i].first, exp_avg_[i]);
    out.emplace_back("exp_avg_sq." + params_[i].first, exp_avg_sq_[i]);
  }
  return out;
}

void Adam::load_state(const NamedTensors& state, int64_t steps) {
  UNL_CHECK(steps >= 0, "optimiser step count " + std::to_string(steps) + " is negative",
            "the checkpoint is corrupt; resume from an older one or start with --fresh");
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, t] : state) by_name[name] = &t;
  std::vector<std::pair<torch::Tensor*, const torch::Tensor*>> plan;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto [prefix, dst] : {std::pair{"exp_avg.", &exp_avg_[i]}, std::pair{"exp_avg_sq.", &exp_avg_sq_[i]}}) {
      const std::string key = prefix + params_[i].first;
      auto it = by_name.find(key);
      UNL_CHECK(it != by_name.end(), "optimiser state lacks '" + key + "'",
                "the checkpoint belongs to another model or method; use --fresh");
      UNL_CHECK(it->second->sizes() == dst->sizes(),
                "optimiser state '" + key + "' has shape " + c10::str(it->second->sizes()) +
                    ", the parameter needs " + c10::str(dst->sizes()),
                "the checkpoint belongs to another model; use --fresh");
      plan.emplace_back(dst, it->second);
      by_name.erase(it);
    }
  }
  UNL_CHECK(by_name.empty(),
            "optimiser state holds '" + (by_name.empty() ? std::string() : by_name.begin()->first) +
                "', which matches no trainable parameter",
            "the checkpoint belongs to another model; use --fresh");
  // Validate everything before touching anything: a failed load leaves the optimiser intact.
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : plan) dst->copy_(*src);
  steps_ = steps;
}

}  // namespace unl::unlearn
