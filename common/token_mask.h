// The values of a token mask ([B, T] int64 beside the ids): padding, a target token, or a prompt
// token that is read but never a target. Shared by data (collation), model (attention) and
// unlearn (losses, metrics), so it lives here.
#pragma once

#include <cstdint>

namespace unl {

/// Padding: not attended, not a target.
constexpr int64_t kMaskPad = 0;
/// A real token and a target: losses, MA and EL_n count its prediction.
constexpr int64_t kMaskToken = 1;
/// A real token of the prompt of a question/answer or chat sample: attended like any other token,
/// never a target (unl::unlearn::target_positions skips it), so it is neither learned, unlearned
/// nor scored. Every nonzero value is a real token to the model.
constexpr int64_t kMaskPrompt = 2;

}  // namespace unl
