// safetensors read and write, implemented from the format description: 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then
// the raw little-endian data. Reads are memory-mapped and every header claim is validated.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace unl::model {

struct TensorInfo {
  std::string name;
  std::string dtype;            // "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the end of the header
};

/// One .safetensors file, memory-mapped. Construction validates the whole header (length within
/// the file and under a sane limit, JSON well formed, known dtypes, offsets in range, contiguous
/// and non-overlapping, shape x dtype size == bytes) and throws unl::Error naming file, tensor
/// and problem otherwise.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// A tensor converted to `dtype` (a copy owning its memory; the map may be closed after).
  torch::Tensor tensor(const std::string& name, torch::Dtype dtype) const;

 private:
  std::string path_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  const uint8_t* data_ = nullptr;   // start of the data section
  void* map_ = nullptr;
  size_t map_size_ = 0;
};

/// A model's weights in a Hugging Face directory: model.safetensors, or
/// model.safetensors.index.json + shards (weight_map validated: every shard exists, every name in
/// the map is in its shard).
class SafetensorsModel {
 public:
  explicit SafetensorsModel(const std::string& dir);
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  torch::Tensor tensor(const std::string& name, torch::Dtype dtype) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> owner_;  // tensor name -> index into files_
};

/// Every tensor of one file in its stored dtype (BOOL as kBool), sorted by name.
std::vector<std::pair<std::string, torch::Tensor>> read_safetensors(const std::string& path);

/// Write tensors (any device; copied to CPU contiguous) as one safetensors file, atomically
/// (temp file + fsync + rename). Names sorted; data aligned as the reference writer does.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace unl::model
