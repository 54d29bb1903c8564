// Internal: what writer and reader agree on: attribute names, the dtype table, the HDF5 type
// that holds each dtype's bytes, and how the metadata checksum is fed.
#pragma once

#include <hdf5.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/hash.h"

namespace unl::checkpoint::format {

constexpr const char* kVersionAttr = "unlearn_format_version";
constexpr const char* kMetaHashAttr = "meta_xxh3_64";

struct DtypeSpec {
  torch::ScalarType scalar;
  const char* name;
  bool is_float;  // stored as an HDF5 float (else an integer; bf16/f16 as raw uint16)
};

/// nullptr when the dtype is not supported.
const DtypeSpec* find_dtype(torch::ScalarType t);
const DtypeSpec* find_dtype(const std::string& name);
/// The native HDF5 memory (and file) type that holds the tensor's bytes unchanged.
hid_t native_type(torch::ScalarType t);

/// Length-prefixed fields, so ("ab","c") and ("a","bc") hash differently.
void feed(Hasher& h, const std::string& s);
void feed(Hasher& h, std::int64_t v);
void feed_tensor(Hasher& h, const std::string& name, const std::string& dtype,
                 const std::vector<std::uint64_t>& dims, const std::string& checksum);

/// Name lists stored as one string, a '\n' after each name.
std::string join_lines(const std::vector<std::string>& names);
std::vector<std::string> split_lines(const std::string& text);

}  // namespace unl::checkpoint::format
