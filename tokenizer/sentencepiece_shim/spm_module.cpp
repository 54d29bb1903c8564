// libunl_sentencepiece.so: SpmModel over sentencepiece::SentencePieceProcessor (see spm_model.h
// for why this is a separately loaded module).
#include "tokenizer/sentencepiece_shim/spm_model.h"

#include <sentencepiece_processor.h>

namespace {

class Model final : public unl::tokenizer::SpmModel {
 public:
  sentencepiece::SentencePieceProcessor sp;

  int piece_size() const override { return sp.GetPieceSize(); }
  bool is_control(int id) const override { return sp.IsControl(id); }
  bool is_unknown(int id) const override { return sp.IsUnknown(id); }
  std::string id_to_piece(int id) const override { return sp.IdToPiece(id); }
  int piece_to_id(const std::string& piece) const override { return sp.PieceToId(piece); }
  int unk_id() const override { return sp.unk_id(); }
  int bos_id() const override { return sp.bos_id(); }
  int eos_id() const override { return sp.eos_id(); }
  bool encode(const std::string& text, std::vector<int>* ids, std::string* error) const override {
    const auto status = sp.Encode(text, ids);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
  bool decode(const std::vector<int>& ids, std::string* text, std::string* error) const override {
    const auto status = sp.Decode(ids, text);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
};

}  // namespace

extern "C" __attribute__((visibility("default"))) unl::tokenizer::SpmModel* unl_spm_load(const std::string* bytes,
                                                                                         std::string* error) {
  auto model = std::make_unique<Model>();
  const auto status = model->sp.LoadFromSerializedProto(*bytes);
  if (!status.ok()) {
    *error = status.ToString();
    return nullptr;
  }
  return model.release();
}
