// Files compiled into the binary with the assembler's .incbin (embedded_assets.cpp): the GPT-2
// vocabulary and the demo's own small vocabulary, so `unlearn demo` and tests need no download.
#pragma once

#include <string_view>

namespace unl::model::assets {

/// assets/gpt2/vocab.json (MIT licence, assets/gpt2/LICENSE).
std::string_view gpt2_vocab_json();
/// assets/gpt2/merges.txt.
std::string_view gpt2_merges_txt();
/// assets/demo/vocab.json: the byte-level BPE vocabulary `unlearn demo` fits its model with
/// (trained on the demo corpus by scripts/make-demo-tokenizer.py).
std::string_view demo_vocab_json();
/// assets/demo/merges.txt.
std::string_view demo_merges_txt();

}  // namespace unl::model::assets
