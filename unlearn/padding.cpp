// Padded batches from token-id vectors.
#include "unlearn/padding.h"

#include <algorithm>

#include "common/error.h"

namespace unl::unlearn {
namespace {

Padded pad(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1, int64_t pad_id,
           int64_t min_len, bool left, const std::vector<int64_t>& prompt_lens) {
  UNL_CHECK(prompt_lens.empty() || prompt_lens.size() == seqs.size(),
            std::to_string(prompt_lens.size()) + " prompt lengths for " + std::to_string(seqs.size()) + " sequences",
            "this is a bug in the caller: give one prompt length per sequence (or none)");
  int64_t len = min_len;
  for (int64_t i = b0; i < b1; ++i) len = std::max<int64_t>(len, static_cast<int64_t>(seqs[i].size()));
  Padded out;
  out.ids = torch::full({b1 - b0, len}, pad_id, torch::kInt64);
  out.mask = torch::zeros({b1 - b0, len}, torch::kInt64);
  auto ia = out.ids.accessor<int64_t, 2>();
  auto ma = out.mask.accessor<int64_t, 2>();
  for (int64_t i = b0; i < b1; ++i) {
    const auto& s = seqs[i];
    const int64_t n = static_cast<int64_t>(s.size());
    const int64_t off = left ? len - n : 0;
    const int64_t prompt = prompt_lens.empty() ? 0 : prompt_lens[i];
    for (int64_t t = 0; t < n; ++t) {
      ia[i - b0][off + t] = s[t];
      ma[i - b0][off + t] = t < prompt ? kMaskPrompt : kMaskToken;
    }
  }
  return out;
}

}  // namespace

Padded pad_right(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1,
                 int64_t pad_token_id, int64_t min_len, const std::vector<int64_t>& prompt_lens) {
  return pad(seqs, b0, b1, pad_token_id, min_len, false, prompt_lens);
}

Padded pad_left(const std::vector<std::vector<int64_t>>& seqs, int64_t b0, int64_t b1,
                int64_t pad_token_id, int64_t min_len, const std::vector<int64_t>& prompt_lens) {
  return pad(seqs, b0, b1, pad_token_id, min_len, true, prompt_lens);
}

torch::Device model_device(model::CausalLMImpl& model) {
  auto params = model.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

}  // namespace unl::unlearn
