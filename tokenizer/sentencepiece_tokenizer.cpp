// A SentencePiece tokenizer.model (models that ship no tokenizer.json) through the SentencePiece
// library, loaded as a private module (sentencepiece_shim/spm_model.h says why). Control and
// unknown pieces written in the text are matched first, as transformers' slow tokenizers split on
// their special tokens, and each text chunk is encoded on its own.
#include "common/error.h"
#include "tokenizer/file_io.h"
#include "tokenizer/sentencepiece_shim/spm_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace unl::tokenizer {
namespace {

using LoadFn = SpmModel* (*)(const std::string*, std::string*);

// Where libunl_sentencepiece.so may be: $UNL_SENTENCEPIECE_MODULE, then beside the running binary
// (build/bin/unlearn and build/tests/* both find build/lib), then where this build put it.
std::vector<std::string> module_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("UNL_SENTENCEPIECE_MODULE"); env && *env) out.emplace_back(env);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path().parent_path() / "lib" / "libunl_sentencepiece.so").string());
#ifdef UNL_SPM_MODULE_PATH
  out.emplace_back(UNL_SPM_MODULE_PATH);
#endif
  return out;
}

LoadFn spm_loader() {
  static std::once_flag once;
  static LoadFn load = nullptr;
  static std::string tried;
  std::call_once(once, [] {
    for (const auto& path : module_candidates()) {
      if (!std::filesystem::exists(path)) {
        tried += " " + path + " (missing)";
        continue;
      }
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!handle) {
        tried += " " + path + " (" + dlerror() + ")";
        continue;
      }
      load = reinterpret_cast<LoadFn>(dlsym(handle, "unl_spm_load"));
      if (load) return;
      tried += " " + path + " (no unl_spm_load)";
    }
  });
  UNL_CHECK(load != nullptr, "cannot load the SentencePiece module libunl_sentencepiece.so; tried:" + tried,
            "build it with the project (it is written to build/lib next to build/bin) or point "
            "UNL_SENTENCEPIECE_MODULE at it; libsentencepiece0 must be installed (scripts/install-deps)");
  return load;
}

class SentencePiece : public Tokenizer {
 public:
  SentencePiece(const std::string& path, bool add_bos, bool add_eos) : add_bos_(add_bos), add_eos_(add_eos) {
    const std::string bytes = read_tokenizer_file(path);
    std::string error;
    sp_.reset(spm_loader()(&bytes, &error));
    UNL_CHECK(sp_ != nullptr, path + ": not a SentencePiece model (" + error + ")",
              "tokenizer.model must be the SentencePiece model file the model was trained with");
    size_ = sp_->piece_size();
    for (int id = 0; id < size_; ++id)
      if (sp_->is_control(id) || sp_->is_unknown(id)) specials_.emplace_back(sp_->id_to_piece(id), id);
    // Longest first, so a match at a position is the longest one there.
    std::stable_sort(specials_.begin(), specials_.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }

  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens) const override {
    const std::string clean = unicode::is_valid_utf8(text) ? std::string(text) : unicode::replace_invalid_utf8(text);
    std::vector<int64_t> out;
    if (add_special_tokens && add_bos_ && sp_->bos_id() >= 0) out.push_back(sp_->bos_id());
    size_t chunk = 0;
    for (size_t pos = 0; pos < clean.size();) {
      int match = -1;
      size_t len = 0;
      for (const auto& [piece, id] : specials_) {
        if (!piece.empty() && clean.compare(pos, piece.size(), piece) == 0) {
          match = id;
          len = piece.size();
          break;
        }
      }
      if (match < 0) {
        ++pos;
        continue;
      }
      encode_chunk(std::string_view(clean).substr(chunk, pos - chunk), out);
      out.push_back(match);
      pos += len;
      chunk = pos;
    }
    encode_chunk(std::string_view(clean).substr(chunk), out);
    if (add_special_tokens && add_eos_ && sp_->eos_id() >= 0) out.push_back(sp_->eos_id());
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const override {
    std::vector<int> keep;
    for (int64_t id : ids) {
      UNL_CHECK(id >= 0 && id < size_, "decode: token id " + std::to_string(id) + " is not in the vocabulary (size " +
                                           std::to_string(size_) + ")",
                "the ids were produced by a different tokenizer or model (vocab_size mismatch)");
      if (skip_special_tokens && is_special(id)) continue;
      keep.push_back(static_cast<int>(id));
    }
    std::string text, error;
    UNL_CHECK(sp_->decode(keep, &text, &error), "SentencePiece decode failed: " + error, "the ids do not belong to this model");
    return text;
  }

  std::optional<int64_t> token_to_id(const std::string& token) const override {
    const int id = sp_->piece_to_id(token);
    if (id == sp_->unk_id() && token != sp_->id_to_piece(id)) return std::nullopt;
    return id;
  }
  std::optional<std::string> id_to_token(int64_t id) const override {
    if (id < 0 || id >= size_) return std::nullopt;
    return sp_->id_to_piece(static_cast<int>(id));
  }
  int64_t vocab_size() const override { return size_; }
  bool is_special(int64_t id) const override {
    return id >= 0 && id < size_ && (sp_->is_control(static_cast<int>(id)) || sp_->is_unknown(static_cast<int>(id)));
  }

 private:
  void encode_chunk(std::string_view chunk, std::vector<int64_t>& out) const {
    if (chunk.empty()) return;
    std::vector<int> ids;
    std::string error;
    UNL_CHECK(sp_->encode(std::string(chunk), &ids, &error), "SentencePiece encode failed: " + error,
              "the text could not be encoded");
    out.insert(out.end(), ids.begin(), ids.end());
  }

  std::unique_ptr<SpmModel> sp_;
  int size_ = 0;
  bool add_bos_, add_eos_;
  std::vector<std::pair<std::string, int>> specials_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path, bool add_bos, bool add_eos) {
  return std::make_unique<SentencePiece>(path, add_bos, add_eos);
}

}  // namespace unl::tokenizer
