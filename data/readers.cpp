// Readers: JSONL, .npy and HDF5 token arrays, and load_samples() which validates them.
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <unordered_set>

#include "common/error.h"
#include "data/data.h"
#include "common/h5_handle.h"

namespace unl::data {
namespace {

std::string where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

std::string detect_format(const DataSpec& spec) {
  if (spec.format != "auto") return spec.format;
  const std::string ext = std::filesystem::path(spec.path).extension().string();
  if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson") return "jsonl";
  if (ext == ".npy") return "npy";
  if (ext == ".h5" || ext == ".hdf5") return "h5";
  UNL_USAGE_ERROR("cannot tell the format of '" + spec.path + "' from its extension",
                  "use .jsonl, .npy or .h5, or set data.format");
}

std::vector<Sample> read_jsonl(const DataSpec& spec, const TokenizeFn& tokenize) {
  std::ifstream in(spec.path);
  UNL_CHECK(in.good(), "cannot open '" + spec.path + "'", "check the path and permissions");
  std::vector<Sample> out;
  std::string line;
  int64_t lineno = 0, index = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (spec.limit >= 0 && index >= spec.limit) break;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    UNL_CHECK(!j.is_discarded(), where(spec.path, lineno) + ": not valid JSON",
              "each line must be one JSON object, e.g. {\"text\": \"...\"}");
    UNL_CHECK(j.is_object(), where(spec.path, lineno) + ": a JSON " + std::string(j.type_name()) + ", not an object",
              "each line must be one JSON object, e.g. {\"text\": \"...\"}");
    Sample s;
    s.id = index;
    if (j.contains("id")) {
      UNL_CHECK(j["id"].is_number_integer(), where(spec.path, lineno) + ": \"id\" must be an integer",
                "use integer ids or leave them out (the line index is used)");
      s.id = j["id"].get<int64_t>();
    }
    if (j.contains(spec.text_field)) {
      UNL_CHECK(j[spec.text_field].is_string(),
                where(spec.path, lineno) + ": field \"" + spec.text_field + "\" must be a string", "");
      s.text = j[spec.text_field].get<std::string>();
      UNL_CHECK(!s.text.empty(), where(spec.path, lineno) + ": empty text", "remove the line or give it text");
      UNL_CHECK(static_cast<bool>(tokenize), where(spec.path, lineno) + ": text given but no tokenizer",
                "this is a bug: the caller must pass a tokenizer for JSONL text");
      s.tokens = tokenize(s.text);
    } else if (j.contains("ids")) {
      UNL_CHECK(j["ids"].is_array(), where(spec.path, lineno) + ": \"ids\" must be an array of token ids", "");
      for (const auto& v : j["ids"]) {
        UNL_CHECK(v.is_number_integer(), where(spec.path, lineno) + ": \"ids\" holds a non-integer " + v.dump(),
                  "token ids are integers");
        s.tokens.push_back(v.get<int64_t>());
      }
    } else {
      UNL_THROW(where(spec.path, lineno) + ": no \"" + spec.text_field + "\" or \"ids\" field",
                "each line needs the text (data.text_field) or an ids array");
    }
    out.push_back(std::move(s));
    ++index;
  }
  return out;
}

std::vector<Sample> rows_to_samples(std::vector<std::vector<int64_t>> rows, const DataSpec& spec) {
  std::vector<Sample> out;
  const int64_t n = spec.limit >= 0 ? std::min<int64_t>(spec.limit, rows.size()) : static_cast<int64_t>(rows.size());
  for (int64_t r = 0; r < n; ++r) {
    auto& row = rows[r];
    const int64_t cols = static_cast<int64_t>(row.size());
    const int64_t e = spec.col_end < 0 ? cols : spec.col_end;
    UNL_CHECK(spec.col_begin < cols && e <= cols,
              spec.path + ": column range [" + std::to_string(spec.col_begin) + ", " + std::to_string(e) +
                  ") outside rows of " + std::to_string(cols) + " tokens",
              "set data.col_begin / data.col_end within the array's width");
    Sample s;
    s.id = r;
    s.tokens.assign(row.begin() + spec.col_begin, row.begin() + e);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::vector<std::vector<int64_t>> read_npy_tokens(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNL_CHECK(in.good(), "cannot open '" + path + "'", "check the path and permissions");
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  in.seekg(0);
  char magic[8] = {0};
  in.read(magic, 8);
  UNL_CHECK(in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, path + ": not a .npy file (bad magic)",
            "write token arrays with numpy.save");
  const int major = static_cast<unsigned char>(magic[6]);
  UNL_CHECK(major >= 1 && major <= 3, path + ": unsupported .npy version " + std::to_string(major),
            "use numpy.save (format 1.0, 2.0 or 3.0)");
  uint32_t header_len = 0;
  unsigned char len_bytes[4] = {0};
  in.read(reinterpret_cast<char*>(len_bytes), major == 1 ? 2 : 4);
  header_len = len_bytes[0] | (len_bytes[1] << 8) | (major == 1 ? 0 : (len_bytes[2] << 16) | (len_bytes[3] << 24));
  const int64_t data_start = (major == 1 ? 10 : 12) + static_cast<int64_t>(header_len);
  UNL_CHECK(header_len < (1u << 20) && data_start <= file_size, path + ": .npy header length is corrupt",
            "the file is truncated or not a .npy file");
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  std::smatch m;
  UNL_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'")), path + ": .npy header has no descr",
            "write token arrays with numpy.save");
  const std::string descr = m[1];
  UNL_CHECK(std::regex_search(header, m, std::regex("'fortran_order':\\s*(True|False)")),
            path + ": .npy header has no fortran_order", "write token arrays with numpy.save");
  UNL_CHECK(m[1] == "False", path + ": Fortran-ordered arrays are not supported",
            "save a C-ordered array: numpy.save(path, numpy.ascontiguousarray(a))");
  UNL_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), path + ": .npy header has no shape",
            "write token arrays with numpy.save");
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex digits("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), digits), end; it != end; ++it)
    shape.push_back(std::stoll(it->str()));
  UNL_CHECK(shape.size() == 2, path + ": a " + std::to_string(shape.size()) + "-D array; token arrays must be 2-D [rows, tokens]",
            "reshape to [num_sequences, tokens_per_sequence]");
  int itemsize = 0;
  if (descr == "<u2") itemsize = 2;
  else if (descr == "<i4") itemsize = 4;
  else if (descr == "<i8") itemsize = 8;
  else if (descr == "|u1" || descr == "<u1") itemsize = 1;
  else if (descr == "<u4") itemsize = 4;
  UNL_CHECK(itemsize > 0, path + ": dtype '" + descr + "' is not a supported token type",
            "use little-endian uint16, uint32, int32 or int64 (e.g. a.astype('<i8'))");
  const int64_t n = shape[0] * shape[1];
  UNL_CHECK(shape[0] >= 0 && shape[1] >= 0 && n / std::max<int64_t>(1, shape[0]) == shape[1] &&
                data_start + n * itemsize == file_size,
            path + ": shape (" + std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ") x " +
                std::to_string(itemsize) + " bytes does not match the file size " + std::to_string(file_size),
            "the file is truncated or its header lies; re-save it with numpy.save");
  std::vector<char> raw(static_cast<size_t>(n * itemsize));
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  std::vector<std::vector<int64_t>> rows(shape[0], std::vector<int64_t>(shape[1]));
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(raw.data()) + i * itemsize;
    int64_t v = 0;
    switch (itemsize) {
      case 1: v = p[0]; break;
      case 2: v = static_cast<int64_t>(p[0] | (p[1] << 8)); break;
      case 4: {
        uint32_t u = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
        v = descr == "<i4" ? static_cast<int64_t>(static_cast<int32_t>(u)) : static_cast<int64_t>(u);
        break;
      }
      default: std::memcpy(&v, p, 8);
    }
    rows[i / shape[1]][i % shape[1]] = v;
  }
  return rows;
}

std::vector<std::vector<int64_t>> read_h5_tokens(const std::string& path, const std::string& name) {
  H5ErrorsMuted muted;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  UNL_CHECK(file.valid(), "cannot open '" + path + "' as HDF5", "check the path; the file may be truncated");
  UNL_CHECK(H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) > 0, path + ": no dataset '" + name + "'",
            "set data.h5_dataset to the dataset holding the token ids (h5ls lists them)");
  H5Handle ds(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  UNL_CHECK(ds.valid(), path + ": cannot open dataset '" + name + "'", "is it a dataset, not a group?");
  H5Handle type(H5Dget_type(ds.get()), H5Tclose);
  UNL_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, path + ":" + name + ": not an integer dataset",
            "token ids must be stored as integers");
  H5Handle space(H5Dget_space(ds.get()), H5Sclose);
  UNL_CHECK(H5Sget_simple_extent_ndims(space.get()) == 2, path + ":" + name + ": not a 2-D dataset",
            "store tokens as [num_sequences, tokens_per_sequence]");
  hsize_t dims[2];
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  std::vector<int64_t> flat(dims[0] * dims[1]);
  if (!flat.empty())
    UNL_CHECK(H5Dread(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat.data()) >= 0,
              path + ":" + name + ": read failed", "the file may be corrupt");
  std::vector<std::vector<int64_t>> rows(dims[0]);
  for (hsize_t r = 0; r < dims[0]; ++r) rows[r].assign(flat.begin() + r * dims[1], flat.begin() + (r + 1) * dims[1]);
  return rows;
}

std::vector<Sample> load_samples(const DataSpec& spec, const TokenizeFn& tokenize, int64_t vocab_size) {
  UNL_CHECK(std::filesystem::exists(spec.path), "data file '" + spec.path + "' does not exist",
            "check the path in the configuration (relative paths are relative to the config file)");
  const std::string format = detect_format(spec);
  std::vector<Sample> samples;
  if (format == "jsonl") {
    samples = read_jsonl(spec, tokenize);
  } else if (format == "npy") {
    samples = rows_to_samples(read_npy_tokens(spec.path), spec);
  } else if (format == "h5") {
    samples = rows_to_samples(read_h5_tokens(spec.path, spec.h5_dataset), spec);
  } else {
    UNL_USAGE_ERROR("unknown data format '" + format + "'", "use jsonl, npy, h5 or auto");
  }
  UNL_CHECK(!samples.empty(), "data file '" + spec.path + "' holds no samples", "give it at least one sequence");
  std::unordered_set<int64_t> seen;
  const bool rows = format != "jsonl";
  for (size_t i = 0; i < samples.size(); ++i) {
    auto& s = samples[i];
    const std::string at = rows ? spec.path + " row " + std::to_string(i) : spec.path + " sample id " + std::to_string(s.id);
    UNL_CHECK(seen.insert(s.id).second, at + ": duplicate id " + std::to_string(s.id), "give every sample a unique id");
    if (spec.max_tokens > 0 && static_cast<int64_t>(s.tokens.size()) > spec.max_tokens) s.tokens.resize(spec.max_tokens);
    UNL_CHECK(s.tokens.size() >= 2, at + ": only " + std::to_string(s.tokens.size()) + " token(s)",
              "sequences need at least 2 tokens to predict one");
    for (int64_t t : s.tokens)
      UNL_CHECK(t >= 0 && t < vocab_size,
                at + ": token id " + std::to_string(t) + " outside the vocabulary [0, " + std::to_string(vocab_size) + ")",
                "the data was tokenized for another model; re-tokenize it with this model's tokenizer");
  }
  return samples;
}

}  // namespace unl::data
