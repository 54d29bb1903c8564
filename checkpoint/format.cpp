// Internal: the dtype table and metadata-checksum feeding shared by checkpoint writer and reader.
#include "checkpoint/format.h"

namespace unl::checkpoint::format {

namespace {
const DtypeSpec kDtypes[] = {
    {torch::kFloat32, "float32", true}, {torch::kFloat64, "float64", true},
    {torch::kBFloat16, "bfloat16", false}, {torch::kFloat16, "float16", false},
    {torch::kInt64, "int64", false},     {torch::kInt32, "int32", false},
    {torch::kInt16, "int16", false},     {torch::kInt8, "int8", false},
    {torch::kUInt8, "uint8", false},     {torch::kBool, "bool", false},
};
}  // namespace

const DtypeSpec* find_dtype(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.scalar == t) return &d;
  return nullptr;
}
const DtypeSpec* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

/// The native HDF5 memory (and file) type that holds the tensor's bytes unchanged.
hid_t native_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return H5T_NATIVE_FLOAT;
    case torch::kFloat64: return H5T_NATIVE_DOUBLE;
    case torch::kBFloat16:
    case torch::kFloat16: return H5T_NATIVE_UINT16;
    case torch::kInt64: return H5T_NATIVE_INT64;
    case torch::kInt32: return H5T_NATIVE_INT32;
    case torch::kInt16: return H5T_NATIVE_INT16;
    case torch::kInt8: return H5T_NATIVE_INT8;
    default: return H5T_NATIVE_UINT8;  // uint8, bool
  }
}

/// Length-prefixed fields, so ("ab","c") and ("a","bc") hash differently.
void feed(Hasher& h, const std::string& s) {
  std::uint64_t n = s.size();
  h.update(&n, sizeof n);
  h.update(s);
}
void feed(Hasher& h, std::int64_t v) { h.update(&v, sizeof v); }
void feed_tensor(Hasher& h, const std::string& name, const std::string& dtype,
                 const std::vector<std::uint64_t>& dims, const std::string& checksum) {
  feed(h, name);
  feed(h, dtype);
  feed(h, static_cast<std::int64_t>(dims.size()));
  for (auto d : dims) feed(h, static_cast<std::int64_t>(d));
  feed(h, checksum);
}

std::string join_lines(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + "\n";
  return out;
}
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}


}  // namespace unl::checkpoint::format
