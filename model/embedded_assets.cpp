// Embeds assets/{gpt2,demo}/{vocab.json,merges.txt} with .incbin. model/CMakeLists.txt passes the asset
// directory and a hash of the files, so both ninja and ccache rebuild this object when they change.
#include "model/embedded_assets.h"

#if !defined(UNL_ASSETS_DIR) || !defined(UNL_ASSETS_HASH)
#error "UNL_ASSETS_DIR and UNL_ASSETS_HASH are set by model/CMakeLists.txt"
#endif

// Each blob is followed by an end label; a trailing NUL keeps the end label inside the section.
#define UNL_INCBIN(symbol, file)                            \
  __asm__(".pushsection .rodata\n"                          \
          ".global " #symbol "\n"                           \
          ".balign 16\n" #symbol ":\n"                      \
          ".incbin \"" UNL_ASSETS_DIR "/" file "\"\n"       \
          ".global " #symbol "_end\n" #symbol "_end:\n"     \
          ".byte 0\n"                                       \
          ".popsection\n")

UNL_INCBIN(unl_asset_gpt2_vocab_json, "gpt2/vocab.json");
UNL_INCBIN(unl_asset_gpt2_merges_txt, "gpt2/merges.txt");
UNL_INCBIN(unl_asset_demo_vocab_json, "demo/vocab.json");
UNL_INCBIN(unl_asset_demo_merges_txt, "demo/merges.txt");

extern "C" {
extern const char unl_asset_gpt2_vocab_json[];
extern const char unl_asset_gpt2_vocab_json_end[];
extern const char unl_asset_gpt2_merges_txt[];
extern const char unl_asset_gpt2_merges_txt_end[];
extern const char unl_asset_demo_vocab_json[];
extern const char unl_asset_demo_vocab_json_end[];
extern const char unl_asset_demo_merges_txt[];
extern const char unl_asset_demo_merges_txt_end[];
}

namespace unl::model::assets {
namespace {
// Part of the preprocessed source, so a changed asset is a ccache miss.
[[maybe_unused]] constexpr const char kAssetsHash[] = UNL_ASSETS_HASH;
}  // namespace

std::string_view gpt2_vocab_json() {
  return {unl_asset_gpt2_vocab_json,
          static_cast<size_t>(unl_asset_gpt2_vocab_json_end - unl_asset_gpt2_vocab_json)};
}

std::string_view gpt2_merges_txt() {
  return {unl_asset_gpt2_merges_txt,
          static_cast<size_t>(unl_asset_gpt2_merges_txt_end - unl_asset_gpt2_merges_txt)};
}

std::string_view demo_vocab_json() {
  return {unl_asset_demo_vocab_json,
          static_cast<size_t>(unl_asset_demo_vocab_json_end - unl_asset_demo_vocab_json)};
}

std::string_view demo_merges_txt() {
  return {unl_asset_demo_merges_txt,
          static_cast<size_t>(unl_asset_demo_merges_txt_end - unl_asset_demo_merges_txt)};
}

}  // namespace unl::model::assets
