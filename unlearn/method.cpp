// ICU and the baselines (GA, GradDiff, NPO) as one Method implementation switched by kind: each
// term is a local sum divided by its global count, so gradients summed over ranks equal the
// single-process gradient of the global-batch mean.
#include "unlearn/method.h"

#include <algorithm>
#include <utility>

#include "common/error.h"
#include "unlearn/losses.h"

namespace unl::unlearn {
namespace {

enum class Kind { kIcu, kGa, kGradDiff, kNpo };

constexpr const char* kForgetTokens = "forget_tokens";
constexpr const char* kNeighbourTokens = "neighbour_tokens";
constexpr const char* kForgetSequences = "forget_sequences";

class BuiltinMethod final : public Method {
 public:
  BuiltinMethod(Kind kind, std::string name, MethodWeights w)
      : kind_(kind), name_(std::move(name)), w_(w) {}

  std::string name() const override { return name_; }
  bool needs_reference() const override { return kind_ == Kind::kIcu || kind_ == Kind::kNpo; }
  bool needs_neighbours() const override {
    return kind_ == Kind::kIcu || kind_ == Kind::kGradDiff;
  }

  TermCounts count(const Batch& local) const override {
    // Every key is present even without rows: ranks all-reduce the counts as one packed vector.
    const bool any = local.rows() > 0;
    TermCounts c;
    c[kForgetTokens] = any ? target_count(local.forget_mask) : 0.0;
    if (needs_neighbours())
      c[kNeighbourTokens] = any && local.neighbour_ids.defined() && local.neighbour_ids.size(0) > 0
                                ? target_count(local.neighbour_mask)
                                : 0.0;
    if (kind_ == Kind::kNpo)
      c[kForgetSequences] =
          any ? static_cast<double>(
                    (target_counts_per_row(local.forget_mask) > 0).sum().item<int64_t>())
              : 0.0;
    return c;
  }

  StepLoss loss(model::CausalLMImpl& model, model::CausalLMImpl* reference, const Batch& local,
                const TermCounts& global) const override {
    StepLoss out;
    for (const char* t : term_names()) out.terms[t] = 0.0;
    if (local.rows() == 0) return out;
    const bool cached_p0 = kind_ == Kind::kIcu && local.neighbour_reference.defined();
    UNL_CHECK(!needs_reference() || reference != nullptr || cached_p0,
              "method '" + name_ + "' needs the frozen reference model but none was given",
              "pass a clone of the original model (model::clone_causal_lm) as the reference");
    UNL_CHECK(!needs_neighbours() || (local.neighbour_ids.defined() && local.neighbour_mask.defined()),
              "method '" + name_ + "' needs neighbour/retain rows in the batch",
              "pair every forget sample with a retained-pool row before training");

    // One forward over the forget and the neighbour rows together, so one backward produces the
    // whole gradient of this batch (each parameter's gradient is complete once, not twice).
    const bool with_neighbours = needs_neighbours() && local.neighbour_ids.size(0) > 0;
    torch::Tensor fgt, nb;
    if (with_neighbours) {
      auto both = fused_logits(model, local);
      fgt = both.first;
      nb = both.second;
    } else {
      fgt = model.forward(local.forget_ids, local.forget_mask).logits;
    }
    auto fsum = token_term_sums(fgt, torch::Tensor(), local.forget_ids, local.forget_mask);
    auto forget_ce = fsum.nll.sum() * inverse(global, kForgetTokens);
    out.terms["forget_ce"] = forget_ce.item<double>();

    torch::Tensor loss;
    if (kind_ == Kind::kNpo) {
      torch::Tensor ref_nll;
      {
        torch::NoGradGuard no_grad;
        auto ref = reference->forward(local.forget_ids, local.forget_mask).logits;
        ref_nll = token_term_sums(ref, torch::Tensor(), local.forget_ids, local.forget_mask).nll;
      }
      // log pi_theta(x) - log pi_ref(x) = ref_nll - nll (sequence log-prob = -sum token NLL).
      const double beta = w_.npo_beta;
      UNL_CHECK(beta > 0, "NPO beta must be positive, got " + std::to_string(beta),
                "set method.npo_beta to a positive value (the paper uses 0.1)");
      auto valid = (target_counts_per_row(local.forget_mask) > 0).to(fgt.dtype()).to(fgt.device());
      auto per_seq = torch::softplus(beta * (ref_nll - fsum.nll)) * (2.0 / beta) * valid;
      auto npo = per_seq.sum() * inverse(global, kForgetSequences);
      out.terms["npo"] = npo.item<double>();
      loss = w_.forget * npo;
    } else {
      loss = -w_.forget * forget_ce;
    }

    if (with_neighbours) {
      torch::Tensor ref;
      if (kind_ == Kind::kIcu) {
        if (local.neighbour_reference.defined()) {
          ref = local.neighbour_reference;
        } else {
          torch::NoGradGuard no_grad;
          ref = reference->forward(local.neighbour_ids, local.neighbour_mask).logits;
        }
      }
      auto nsum = token_term_sums(nb, ref, local.neighbour_ids, local.neighbour_mask);
      const double inv_n = inverse(global, kNeighbourTokens);
      auto neighbour_ce = nsum.nll.sum() * inv_n;
      out.terms["neighbour_ce"] = neighbour_ce.item<double>();
      if (kind_ == Kind::kIcu) {
        auto kl = nsum.kl.sum() * inv_n;
        out.terms["kl"] = kl.item<double>();
        loss = loss + w_.learn * neighbour_ce + w_.kl * kl;
      } else {
        loss = loss + w_.retain * neighbour_ce;
      }
    }
    out.terms["loss"] = loss.item<double>();
    out.loss = loss;
    return out;
  }

  /// Logits of [forget rows; neighbour rows] from one forward, split back into the two sets.
  /// Rows are right-padded to the longer length with masked positions, which a causal model never
  /// attends to, so each row's logits are those of its own forward (to float rounding).
  static std::pair<torch::Tensor, torch::Tensor> fused_logits(model::CausalLMImpl& model, const Batch& local) {
    const int64_t bf = local.forget_ids.size(0), bn = local.neighbour_ids.size(0);
    const int64_t tf = local.forget_ids.size(1), tn = local.neighbour_ids.size(1);
    const int64_t t = std::max(tf, tn);
    auto pad = [t](const torch::Tensor& x) {
      return x.size(1) == t ? x : torch::constant_pad_nd(x, {0, t - x.size(1)}, 0);
    };
    auto ids = torch::cat({pad(local.forget_ids), pad(local.neighbour_ids.to(local.forget_ids.device()))});
    auto mask = torch::cat({pad(local.forget_mask.to(local.forget_ids.device(), torch::kLong)),
                            pad(local.neighbour_mask.to(local.forget_ids.device(), torch::kLong))});
    auto logits = model.forward(ids, mask).logits;
    return {logits.narrow(0, 0, bf).narrow(1, 0, tf), logits.narrow(0, bf, bn).narrow(1, 0, tn)};
  }

 private:
  std::vector<const char*> term_names() const {
    switch (kind_) {
      case Kind::kIcu: return {"loss", "forget_ce", "neighbour_ce", "kl"};
      case Kind::kGradDiff: return {"loss", "forget_ce", "neighbour_ce"};
      case Kind::kNpo: return {"loss", "forget_ce", "npo"};
      case Kind::kGa: break;
    }
    return {"loss", "forget_ce"};
  }

  /// 1 / global count, 0 for an empty term (no target anywhere: the term contributes nothing).
  double inverse(const TermCounts& global, const char* key) const {
    auto it = global.find(key);
    UNL_CHECK(it != global.end(),
              "global counts lack '" + std::string(key) + "' for method '" + name_ + "'",
              "all-reduce exactly the map returned by Method::count() and pass it to loss()");
    return it->second > 0 ? 1.0 / it->second : 0.0;
  }

  Kind kind_;
  std::string name_;
  MethodWeights w_;
};

}  // namespace

std::unique_ptr<Method> make_method(const std::string& name, const MethodWeights& weights) {
  if (name == "icu") return std::make_unique<BuiltinMethod>(Kind::kIcu, name, weights);
  if (name == "ga") return std::make_unique<BuiltinMethod>(Kind::kGa, name, weights);
  if (name == "graddiff") return std::make_unique<BuiltinMethod>(Kind::kGradDiff, name, weights);
  if (name == "npo") return std::make_unique<BuiltinMethod>(Kind::kNpo, name, weights);
  UNL_USAGE_ERROR("unknown unlearning method '" + name + "'",
                  "method.name must be one of: icu, ga, graddiff, npo");
}

}  // namespace unl::unlearn
