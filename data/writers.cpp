// Writers for JSONL, .npy and HDF5 token files (tests, tools and the demo), and the dataset hash.
#include <hdf5.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/h5_handle.h"
#include "common/hash.h"
#include "data/data.h"

namespace unl::data {

void write_jsonl(const std::string& path, const std::vector<Sample>& samples) {
  std::ofstream out(path, std::ios::trunc);
  UNL_CHECK(out.good(), "cannot write '" + path + "'", "check the directory exists and is writable");
  for (const auto& s : samples) {
    nlohmann::json j = {{"id", s.id}};
    if (!s.text.empty()) {
      j["text"] = s.text;
    } else {
      j["ids"] = s.tokens;
    }
    out << j.dump() << "\n";
  }
  UNL_CHECK(out.good(), "write to '" + path + "' failed", "the disk may be full");
}

void write_npy_tokens(const std::string& path, const std::vector<std::vector<int64_t>>& rows, const std::string& dtype) {
  int itemsize = dtype == "<u2" ? 2 : dtype == "<i4" ? 4 : dtype == "<i8" ? 8 : 0;
  UNL_CHECK(itemsize > 0, "unsupported .npy dtype '" + dtype + "'", "use <u2, <i4 or <i8");
  const size_t cols = rows.empty() ? 0 : rows[0].size();
  for (const auto& r : rows) UNL_CHECK(r.size() == cols, "ragged rows cannot be written as .npy", "pad them first");
  std::string header = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (" + std::to_string(rows.size()) +
                       ", " + std::to_string(cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  UNL_CHECK(out.good(), "cannot write '" + path + "'", "check the directory exists and is writable");
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  for (const auto& r : rows)
    for (int64_t v : r) {
      unsigned char b[8];
      for (int i = 0; i < itemsize; ++i) b[i] = static_cast<unsigned char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
      out.write(reinterpret_cast<const char*>(b), itemsize);
    }
  UNL_CHECK(out.good(), "write to '" + path + "' failed", "the disk may be full");
}

void write_h5_tokens(const std::string& path, const std::string& name, const std::vector<std::vector<int64_t>>& rows) {
  const size_t cols = rows.empty() ? 0 : rows[0].size();
  std::vector<int64_t> flat;
  for (const auto& r : rows) {
    UNL_CHECK(r.size() == cols, "ragged rows cannot be written as an HDF5 2-D dataset", "pad them first");
    flat.insert(flat.end(), r.begin(), r.end());
  }
  H5ErrorsMuted muted;
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  UNL_CHECK(file.valid(), "cannot create '" + path + "'", "check the directory exists and is writable");
  hsize_t dims[2] = {rows.size(), cols};
  H5Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  H5Handle ds(H5Dcreate2(file.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose);
  UNL_CHECK(ds.valid(), "cannot create dataset '" + name + "' in '" + path + "'", "");
  if (!flat.empty())
    UNL_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat.data()) >= 0,
              "write to '" + path + "' failed", "the disk may be full");
}

std::string dataset_hash(const std::vector<Sample>& samples) {
  Hasher h;
  for (const auto& s : samples) {
    h.update(&s.id, sizeof s.id);
    const int64_t n = static_cast<int64_t>(s.tokens.size());
    h.update(&n, sizeof n);
    h.update(s.tokens.data(), s.tokens.size() * sizeof(int64_t));
  }
  return hex64(h.digest());
}

}  // namespace unl::data
