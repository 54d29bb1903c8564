// RAII over HDF5 ids (header-only; include only from targets that link HDF5): one owner per hid_t
// with its close function, and a scoped guard that mutes HDF5's own error printing so failures
// surface as unl::Error messages instead of HDF5 stack dumps.
#pragma once

#include <hdf5.h>

#include <utility>

namespace unl {

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

}  // namespace unl
