// RAII over HDF5 ids (header-only; include only from targets that link HDF5): one owner per hid_t
// with its close function, and a scoped guard that mutes HDF5's own error printing so failures
// surface as unl::Error messages instead of HDF5 stack dumps.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>

#include "common/error.h"

/// Check an HDF5 call (negative return is failure); use where <hdf5.h> is included.
#define UNL_H5_CHECK(call)                                                  \
  ([&]() {                                                                  \
    auto unl_h5_rc_ = (call);                                               \
    if (unl_h5_rc_ < 0) ::unl::detail::throw_h5(__FILE__, __LINE__, #call); \
    return unl_h5_rc_;                                                      \
  }())

namespace unl {
namespace detail {
/// Throws unl::Error for a failed HDF5 call, with HDF5's own error stack (walked with H5Ewalk2,
/// outermost call first, down to the system error that caused it) in the message.
[[noreturn]] void throw_h5(const char* file, int line, const char* call);
/// HDF5's current error stack as one line ("" when empty), then cleared.
std::string h5_error_stack();
}  // namespace detail

class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Handle() { reset(); }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Close now; returns the close call's status (0 when nothing to close).
  herr_t reset() {
    herr_t rc = 0;
    if (id_ >= 0 && closer_) rc = closer_(id_);
    id_ = H5I_INVALID_HID;
    return rc;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

/// Mutes HDF5's automatic error-stack printing for its lifetime (restored on destruction).
class H5ErrorsMuted {
 public:
  H5ErrorsMuted() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5ErrorsMuted() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  H5ErrorsMuted(const H5ErrorsMuted&) = delete;
  H5ErrorsMuted& operator=(const H5ErrorsMuted&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// How a dataset's bytes are stored: checked against its shape before a buffer is sized from it
/// (the shape is only a claim; an unwritten or chunked dataset can claim terabytes in a tiny file).
struct StorageInfo {
  int layout = -1;                  // H5D_layout_t
  std::uint64_t stored_bytes = 0;   // H5Dget_storage_size
  int external_files = 0;           // raw data kept outside the HDF5 file
};

inline StorageInfo dataset_storage(hid_t dset) {
  H5Handle dcpl(UNL_H5_CHECK(H5Dget_create_plist(dset)), H5Pclose);
  StorageInfo info;
  info.layout = static_cast<int>(H5Pget_layout(dcpl.get()));
  info.external_files = H5Pget_external_count(dcpl.get());
  info.stored_bytes = H5Dget_storage_size(dset);
  return info;
}

}  // namespace unl
