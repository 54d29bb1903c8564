// Fused next-token CE and KL-to-reference sums over counted positions, chunked over positions so
// the vocabulary-wide temporaries stay small (see notes/perf.md: these tensors dominate a step).
#include "unlearn/losses.h"

#include <algorithm>

#include "common/error.h"

namespace unl::unlearn {
namespace {

/// Rows of [*, V] processed at once: about 16 MiB of fp32 per temporary.
constexpr int64_t kChunkElements = int64_t{1} << 22;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Forward: per-row sums of NLL and (with a reference) of -sum_v P0 log q. Backward recomputes
/// softmax per chunk from the saved logits and per-position logsumexp, so autograd keeps only
/// tensors that exist anyway (logits, reference logits) plus one float per position.
class TokenTermsFn : public torch::autograd::Function<TokenTermsFn> {
 public:
  static variable_list forward(AutogradContext* ctx, torch::Tensor logits, torch::Tensor reference,
                               torch::Tensor pos, torch::Tensor rows, torch::Tensor targets,
                               bool has_ref) {
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    auto flat = logits.reshape({B * T, V});
    auto ref_flat = has_ref ? reference.reshape({B * T, V}) : torch::Tensor();
    const int64_t n = pos.numel();
    const int64_t chunk = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(V, 1));
    auto opts = logits.options();
    auto nll_rows = torch::zeros({B}, opts);
    auto kl_rows = torch::zeros({B}, opts);
    auto lse_all = torch::empty({n}, opts);
    for (int64_t s = 0; s < n; s += chunk) {
      const int64_t m = std::min(chunk, n - s);
      auto idx = pos.narrow(0, s, m);
      auto r = rows.narrow(0, s, m);
      auto x = flat.index_select(0, idx);
      auto lse = x.logsumexp(1);
      lse_all.narrow(0, s, m).copy_(lse);
      auto tgt = x.gather(1, targets.narrow(0, s, m).unsqueeze(1)).squeeze(1);
      nll_rows.index_add_(0, r, lse - tgt);
      if (has_ref) {
        auto p0 = ref_flat.index_select(0, idx).softmax(1);
        x.sub_(lse.unsqueeze(1));  // x is a private copy: log q in place
        kl_rows.index_add_(0, r, -(p0 * x).sum(1));
      }
    }
    ctx->save_for_backward({logits});
    ctx->saved_data["reference"] = has_ref ? reference : torch::Tensor();
    ctx->saved_data["pos"] = pos;
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["targets"] = targets;
    ctx->saved_data["lse"] = lse_all;
    ctx->saved_data["has_ref"] = has_ref;
    return {nll_rows, kl_rows};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto logits = ctx->get_saved_variables()[0];
    const bool has_ref = ctx->saved_data["has_ref"].toBool();
    auto pos = ctx->saved_data["pos"].toTensor();
    auto rows = ctx->saved_data["rows"].toTensor();
    auto targets = ctx->saved_data["targets"].toTensor();
    auto lse_all = ctx->saved_data["lse"].toTensor();
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    auto flat = logits.reshape({B * T, V});
    torch::Tensor ref_flat;
    if (has_ref) ref_flat = ctx->saved_data["reference"].toTensor().reshape({B * T, V});
    auto g_nll = grads[0].defined() ? grads[0] : torch::zeros({B}, logits.options());
    auto g_kl = grads[1].defined() ? grads[1] : torch::zeros({B}, logits.options());
    auto grad = torch::zeros({B * T, V}, logits.options());
    const int64_t n = pos.numel();
    const int64_t chunk = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(V, 1));
    for (int64_t s = 0; s < n; s += chunk) {
      const int64_t m = std::min(chunk, n - s);
      auto idx = pos.narrow(0, s, m);
      auto r = rows.narrow(0, s, m);
      auto a = g_nll.index_select(0, r).unsqueeze(1);  // [m, 1]
      // d nll / dx = softmax(x) - onehot(target)
      auto q = flat.index_select(0, idx).sub_(lse_all.narrow(0, s, m).unsqueeze(1)).exp_();
      torch::Tensor g;
      if (has_ref) {
        // d(-sum P0 log q)/dx = q * sum(P0) - P0 (sum(P0) is 1 up to rounding; kept exact)
        auto k = g_kl.index_select(0, r).unsqueeze(1);
        auto p0 = ref_flat.index_select(0, idx).softmax(1);
        auto p0_sum = p0.sum(1, /*keepdim=*/true);
        g = q * (a + k * p0_sum) - p0.mul_(k);
      } else {
        g = q.mul_(a);
      }
      g.scatter_add_(1, targets.narrow(0, s, m).unsqueeze(1), -a);
      grad.index_copy_(0, idx, g);
    }
    return {grad.view({B, T, V}), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

void check_pair(const torch::Tensor& ids, const torch::Tensor& mask, const char* what) {
  UNL_CHECK(ids.defined() && mask.defined() && ids.dim() == 2 && ids.sizes() == mask.sizes(),
            std::string(what) + ": ids and attention mask must both be [B, T] of the same shape",
            "build batches with one mask entry per token (1 = real, 0 = padding)");
}

}  // namespace

torch::Tensor target_positions(const torch::Tensor& attention_mask) {
  UNL_CHECK(attention_mask.defined() && attention_mask.dim() == 2,
            "attention mask must be a [B, T] tensor", "pass the mask that came with the ids");
  auto real = attention_mask.ne(0);
  auto target = attention_mask.to(torch::kLong).eq(kMaskToken);
  const int64_t T = real.size(1);
  auto out = torch::zeros_like(real);
  if (T >= 2) out.narrow(1, 0, T - 1).copy_(real.narrow(1, 0, T - 1).logical_and(target.narrow(1, 1, T - 1)));
  return out;
}

double target_count(const torch::Tensor& attention_mask) {
  return static_cast<double>(target_positions(attention_mask).sum().item<int64_t>());
}

torch::Tensor target_counts_per_row(const torch::Tensor& attention_mask) {
  return target_positions(attention_mask).sum(1).to(torch::kInt64);
}

TokenTermSums token_term_sums(const torch::Tensor& logits, const torch::Tensor& reference,
                              const torch::Tensor& ids, const torch::Tensor& mask) {
  check_pair(ids, mask, "token terms");
  UNL_CHECK(logits.defined() && logits.dim() == 3 && logits.size(0) == ids.size(0) &&
                logits.size(1) == ids.size(1),
            "logits must be [B, T, V] matching ids [B, T]",
            "pass the logits of a forward over exactly these ids");
  const bool has_ref = reference.defined();
  if (has_ref)
    UNL_CHECK(reference.sizes() == logits.sizes(),
              "reference logits " + c10::str(reference.sizes()) + " do not match logits " +
                  c10::str(logits.sizes()),
              "run the reference model on the same ids as the trained model");
  const int64_t T = ids.size(1);
  auto x = logits.to(torch::kFloat).contiguous();
  // Function inputs must be defined tensors: an empty placeholder stands for "no reference".
  auto ref = has_ref ? reference.detach().to(torch::kFloat).contiguous()
                     : torch::empty({0}, x.options().requires_grad(false));
  auto pos = target_positions(mask.to(logits.device())).reshape({-1}).nonzero().reshape({-1});
  auto rows = torch::div(pos, T, "floor");
  auto targets = ids.to(logits.device()).reshape({-1}).index_select(0, pos + 1);
  auto out = TokenTermsFn::apply(x, ref, pos, rows, targets, has_ref);
  TokenTermSums sums;
  sums.nll = out[0];
  if (has_ref) sums.kl = out[1];
  return sums;
}

torch::Tensor token_ce_sum(const torch::Tensor& logits, const torch::Tensor& ids,
                           const torch::Tensor& mask) {
  return token_term_sums(logits, torch::Tensor(), ids, mask).nll.sum();
}

torch::Tensor kl_term_sum(const torch::Tensor& logits, const torch::Tensor& reference,
                          const torch::Tensor& ids, const torch::Tensor& mask) {
  UNL_CHECK(reference.defined(), "the KL term needs the reference model's logits",
            "run the frozen reference model on the same ids");
  return token_term_sums(logits, reference, ids, mask).kl.sum();
}

}  // namespace unl::unlearn
