// Shared helpers for the checkpoint tests: a scratch directory, corruption tools that locate
// bytes through the HDF5 API, and a small state with every field type.
#pragma once

#include <hdf5.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "checkpoint/checkpoint.h"

namespace unl::checkpoint::testing {

/// A fresh directory under /tmp, removed with its contents at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "unl-ckpt-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// File offset of a contiguous dataset's first data byte, found with H5Dget_offset.
inline std::uint64_t dataset_offset(const std::string& path, const std::string& dataset) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw std::runtime_error("cannot open " + path);
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  haddr_t off = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
  if (d >= 0) H5Dclose(d);
  H5Fclose(f);
  if (off == HADDR_UNDEF) throw std::runtime_error("no offset for " + dataset);
  return static_cast<std::uint64_t>(off);
}

/// XOR one byte of a file.
inline void flip_byte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  if (!f) throw std::runtime_error("flip failed in " + path);
}

/// Copy the first `bytes` bytes of `from` to `to`: what a writer killed mid-write leaves.
inline void copy_prefix(const std::string& from, const std::string& to, std::uint64_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string buf(bytes, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(bytes));
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out.write(buf.data(), static_cast<std::streamsize>(bytes));
}

/// A small state: one float tensor per name, `step` as an int and a string.
inline State small_state(std::int64_t step) {
  State s;
  s.tensors["model/w"] = torch::full({4, 3}, static_cast<float>(step));
  s.tensors["model/b"] = torch::arange(256, torch::kFloat32) + static_cast<float>(step);
  s.ints["step"] = step;
  s.strings["config_hash"] = "hash-" + std::to_string(step);
  return s;
}

}  // namespace unl::checkpoint::testing
