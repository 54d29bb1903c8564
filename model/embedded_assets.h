// Files compiled into the binary with the assembler's .incbin (embedded_assets.cpp): the GPT-2
// vocabulary, so `unlearn demo` and tests need no download.
#pragma once

#include <string_view>

namespace unl::model::assets {

/// assets/gpt2/vocab.json (MIT licence, assets/gpt2/LICENSE).
std::string_view gpt2_vocab_json();
/// assets/gpt2/merges.txt.
std::string_view gpt2_merges_txt();

}  // namespace unl::model::assets
