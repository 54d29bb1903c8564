// The boundary between unl::tokenizer and the SentencePiece library.
//
// Debian's libsentencepiece.so carries its own copy of protobuf-lite and exports its symbols.
// LibTorch links the system libprotobuf.so; with both in one process the dynamic linker binds
// libprotobuf's start-up code to SentencePiece's copies and the process crashes before main().
// So SentencePiece lives in a small module of its own (libunl_sentencepiece.so) that
// load_spm_module() opens with RTLD_LOCAL | RTLD_DEEPBIND: its symbols stay private and bind to
// themselves first. Only this interface (virtual calls, no symbol look-ups) crosses the boundary.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace unl::tokenizer {

class SpmModel {
 public:
  virtual ~SpmModel() = default;
  virtual int piece_size() const = 0;
  virtual bool is_control(int id) const = 0;
  virtual bool is_unknown(int id) const = 0;
  virtual std::string id_to_piece(int id) const = 0;
  virtual int piece_to_id(const std::string& piece) const = 0;
  virtual int unk_id() const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  /// False with *error set when the library refuses.
  virtual bool encode(const std::string& text, std::vector<int>* ids, std::string* error) const = 0;
  virtual bool decode(const std::vector<int>& ids, std::string* text, std::string* error) const = 0;
};

}  // namespace unl::tokenizer

/// The module's one exported entry point: a model from the bytes of a tokenizer.model, or
/// nullptr with *error set.
extern "C" unl::tokenizer::SpmModel* unl_spm_load(const std::string* bytes, std::string* error);
