// safetensors reader (mmap, every header claim validated against the file) and atomic writer,
// following the reference implementation's rules: contiguous data section, 8-aligned data start.
#include "model/safetensors.h"

#include "common/error.h"
#include "model/json_strict.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

namespace unl::model {
namespace {

// The reference implementation refuses headers above 100 MB; a larger one is a corrupt length.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;
// model.safetensors.index.json: real ones are under 10 MB even for models with 10^5 tensors.
constexpr uint64_t kMaxIndexBytes = 100ull * 1000 * 1000;

struct DtypeSpec {
  const char* name;
  torch::Dtype torch_dtype;
  size_t bytes;
};

// BOOL is stored as bytes and read through kByte so that values other than 0/1 cannot produce
// invalid torch booleans.
const DtypeSpec kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
    {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeSpec* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeSpec* find_dtype(torch::Dtype dtype) {
  for (const auto& d : kDtypes)
    if (d.torch_dtype == dtype) return &d;
  return nullptr;
}

std::string tensor_where(const std::string& path, const std::string& name) {
  return path + ": tensor '" + name + "': ";
}

const char* kCorruptHint =
    "the file is corrupt or was not written by a safetensors writer; re-download or re-save it";

// A JSON integer that fits in uint64 and is non-negative, or an error naming `what`.
uint64_t json_uint(const nlohmann::json& v, const std::string& where, const std::string& what) {
  UNL_CHECK(v.is_number_integer(), where + what + " must be an integer, got " + v.dump(),
            kCorruptHint);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  int64_t s = v.get<int64_t>();
  UNL_CHECK(s >= 0, where + what + " must be non-negative, got " + std::to_string(s),
            kCorruptHint);
  return static_cast<uint64_t>(s);
}

// The header must be a JSON object without repeated keys.
nlohmann::json parse_object_unique_keys(const char* begin, const char* end,
                                        const std::string& where, const std::string& hint) {
  nlohmann::json j =
      parse_json_strict(std::string_view(begin, static_cast<size_t>(end - begin)), where, hint);
  UNL_CHECK(j.is_object(), where + "must be a JSON object, got " + std::string(j.type_name()),
            hint);
  return j;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  Fd file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  UNL_CHECK(file.fd >= 0, path + ": cannot open (" + std::strerror(errno) + ")",
            "check the model directory path and file permissions");
  struct stat st {};
  UNL_CHECK(::fstat(file.fd, &st) == 0, path + ": cannot stat (" + std::strerror(errno) + ")",
            "check the file system");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  UNL_CHECK(file_size >= 8,
            path + ": file is " + std::to_string(file_size) +
                " bytes, shorter than the 8-byte header length",
            kCorruptHint);
  map_size_ = static_cast<size_t>(file_size);
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    UNL_THROW(path + ": mmap failed (" + std::strerror(errno) + ")",
              "check available address space and that the file system supports mmap");
  }
  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    UNL_CHECK(header_len <= kMaxHeaderBytes,
              path + ": header length " + std::to_string(header_len) + " exceeds the 100 MB limit",
              kCorruptHint);
    UNL_CHECK(header_len <= file_size - 8,
              path + ": header length " + std::to_string(header_len) + " exceeds the file size " +
                  std::to_string(file_size),
              "the file is truncated or corrupt; re-download it");
    data_ = bytes + 8 + header_len;
    const uint64_t data_size = file_size - 8 - header_len;
    const std::string where = path + ": ";
    nlohmann::json header = parse_object_unique_keys(
        reinterpret_cast<const char*>(bytes + 8), reinterpret_cast<const char*>(data_), where,
        kCorruptHint);

    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const nlohmann::json& v = it.value();
      if (name == "__metadata__") {
        UNL_CHECK(v.is_object(), where + "__metadata__ must be an object of strings", kCorruptHint);
        for (auto m = v.begin(); m != v.end(); ++m) {
          UNL_CHECK(m.value().is_string(),
                    where + "__metadata__ value of '" + m.key() + "' must be a string, got " +
                        m.value().dump(),
                    kCorruptHint);
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string tw = tensor_where(path, name);
      UNL_CHECK(v.is_object(), tw + "entry must be an object {dtype, shape, data_offsets}",
                kCorruptHint);
      TensorInfo info;
      info.name = name;
      UNL_CHECK(v.contains("dtype") && v["dtype"].is_string(), tw + "missing string 'dtype'",
                kCorruptHint);
      info.dtype = v["dtype"].get<std::string>();
      const DtypeSpec* spec = find_dtype(info.dtype);
      UNL_CHECK(spec, tw + "unknown or unsupported dtype '" + info.dtype + "'",
                "supported dtypes: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL");
      UNL_CHECK(v.contains("shape") && v["shape"].is_array(),
                tw + "shape must be a list of non-negative integers", kCorruptHint);
      uint64_t numel = 1;
      bool overflow = false;
      for (const auto& d : v["shape"]) {
        uint64_t dim = json_uint(d, tw, "shape entry");
        UNL_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                  tw + "shape entry " + std::to_string(dim) + " is too large", kCorruptHint);
        info.shape.push_back(static_cast<int64_t>(dim));
        if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim) overflow = true;
        numel *= dim;
      }
      UNL_CHECK(v.contains("data_offsets") && v["data_offsets"].is_array() &&
                    v["data_offsets"].size() == 2,
                tw + "data_offsets must be a list [begin, end]", kCorruptHint);
      info.begin = json_uint(v["data_offsets"][0], tw, "data_offsets begin");
      info.end = json_uint(v["data_offsets"][1], tw, "data_offsets end");
      UNL_CHECK(info.begin <= info.end,
                tw + "data_offsets begin " + std::to_string(info.begin) + " is after end " +
                    std::to_string(info.end),
                kCorruptHint);
      UNL_CHECK(info.end <= data_size,
                tw + "data_offsets end " + std::to_string(info.end) +
                    " is beyond the data section of " + std::to_string(data_size) + " bytes",
                "the file is truncated or corrupt; re-download it");
      UNL_CHECK(!overflow && numel <= std::numeric_limits<uint64_t>::max() / spec->bytes &&
                    numel * spec->bytes == info.end - info.begin,
                tw + "shape x dtype size (" + (overflow ? std::string("overflow")
                                                        : std::to_string(numel * spec->bytes)) +
                    " bytes) does not match data_offsets size (" +
                    std::to_string(info.end - info.begin) + " bytes)",
                kCorruptHint);
      tensors_.emplace(name, std::move(info));
    }

    // The reference requires the tensors to tile the data section exactly: sorted by offsets,
    // each begins where the previous ended, and the last ends at the end of the file.
    std::vector<const TensorInfo*> order;
    for (const auto& kv : tensors_) order.push_back(&kv.second);
    std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t cursor = 0;
    const TensorInfo* prev = nullptr;
    for (const TensorInfo* t : order) {
      if (t->begin < cursor) {
        UNL_THROW(tensor_where(path, t->name) + "data_offsets [" + std::to_string(t->begin) +
                      ", " + std::to_string(t->end) + ") overlap tensor '" + prev->name + "' [" +
                      std::to_string(prev->begin) + ", " + std::to_string(prev->end) + ")",
                  kCorruptHint);
      }
      UNL_CHECK(t->begin == cursor,
                tensor_where(path, t->name) + "data_offsets begin " + std::to_string(t->begin) +
                    " leaves a hole: bytes [" + std::to_string(cursor) + ", " +
                    std::to_string(t->begin) + ") belong to no tensor",
                kCorruptHint);
      cursor = t->end;
      prev = t;
    }
    UNL_CHECK(cursor == data_size,
              path + ": data section has " + std::to_string(data_size) +
                  " bytes but the tensors cover only " + std::to_string(cursor) +
                  " (trailing bytes belong to no tensor)",
              kCorruptHint);
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return tensors_.count(name) > 0; }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  UNL_CHECK(it != tensors_.end(), path_ + ": no tensor named '" + name + "'",
            "the checkpoint does not match the architecture; check config.json and the file");
  return it->second;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name, torch::Dtype dtype) const {
  const TensorInfo& ti = info(name);
  const DtypeSpec* spec = find_dtype(ti.dtype);
  const torch::Dtype stored = spec->torch_dtype == torch::kBool ? torch::kUInt8 : spec->torch_dtype;
  // Copy into owned, aligned memory first: the data section need not be aligned for the dtype.
  torch::Tensor raw = torch::empty(ti.shape, torch::TensorOptions().dtype(stored));
  if (ti.end > ti.begin) std::memcpy(raw.data_ptr(), data_ + ti.begin, ti.end - ti.begin);
  if (spec->torch_dtype == torch::kBool) raw = raw.ne(0);
  if (raw.scalar_type() == dtype) return raw;
  return raw.to(dtype);
}

SafetensorsModel::SafetensorsModel(const std::string& dir) {
  const std::string index_path = dir + "/model.safetensors.index.json";
  const std::string single_path = dir + "/model.safetensors";
  struct stat st {};
  if (::stat(index_path.c_str(), &st) == 0) {
    std::ifstream in(index_path, std::ios::binary);
    UNL_CHECK(in.good(), index_path + ": cannot open", "check file permissions");
    // Checked before reading: the parsed JSON takes several times the file's size.
    UNL_CHECK(static_cast<uint64_t>(st.st_size) <= kMaxIndexBytes,
              index_path + ": " + std::to_string(st.st_size) + " bytes exceeds the shard index limit of " +
                  std::to_string(kMaxIndexBytes) + " bytes",
              "a shard index lists tensor names (at most a few MB); the file is corrupt or not an index");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const char* hint = "fix or regenerate model.safetensors.index.json (save_pretrained writes it)";
    nlohmann::json index =
        parse_object_unique_keys(text.data(), text.data() + text.size(), index_path + ": ", hint);
    UNL_CHECK(index.contains("weight_map") && index["weight_map"].is_object(),
              index_path + ": missing object 'weight_map'", hint);
    // Duplicate names inside weight_map would be silently collapsed by the parser: count them.
    std::map<std::string, size_t> shard_index;
    std::map<std::string, std::string> mapped;  // tensor -> shard file
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      UNL_CHECK(it.value().is_string(),
                index_path + ": weight_map entry '" + it.key() + "' must be a file name string",
                hint);
      const std::string shard = it.value().get<std::string>();
      UNL_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "." &&
                    shard != "..",
                index_path + ": weight_map entry '" + it.key() + "' names shard '" + shard +
                    "', which is not a plain file name in the model directory",
                hint);
      mapped[it.key()] = shard;
      if (!shard_index.count(shard)) {
        const std::string shard_path = dir + "/" + shard;
        UNL_CHECK(::stat(shard_path.c_str(), &st) == 0,
                  index_path + ": shard '" + shard + "' (for tensor '" + it.key() +
                      "') does not exist in " + dir,
                  "copy every shard listed in the index into the model directory");
        shard_index[shard] = files_.size();
        files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      }
    }
    for (const auto& [name, shard] : mapped) {
      const size_t owner = shard_index.at(shard);
      UNL_CHECK(files_[owner]->contains(name),
                index_path + ": tensor '" + name + "' is mapped to shard '" + shard +
                    "' but that shard does not contain it",
                hint);
      // A name stored in two shards is ambiguous even if the map picks one: refuse it.
      for (size_t f = 0; f < files_.size(); ++f) {
        UNL_CHECK(f == owner || !files_[f]->contains(name),
                  index_path + ": tensor '" + name + "' is stored in two shards, '" + shard +
                      "' and '" + files_[f]->path() + "'",
                  hint);
      }
      owner_[name] = owner;
    }
    return;
  }
  UNL_CHECK(::stat(single_path.c_str(), &st) == 0,
            dir + ": neither model.safetensors nor model.safetensors.index.json found",
            "point the model path at a Hugging Face directory saved with safetensors "
            "(save_pretrained(..., safe_serialization=True))");
  files_.push_back(std::make_unique<SafetensorsFile>(single_path));
  for (const auto& name : files_[0]->names()) owner_[name] = 0;
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> out;
  out.reserve(owner_.size());
  for (const auto& kv : owner_) out.push_back(kv.first);
  return out;
}

bool SafetensorsModel::contains(const std::string& name) const { return owner_.count(name) > 0; }

const TensorInfo& SafetensorsModel::info(const std::string& name) const {
  auto it = owner_.find(name);
  UNL_CHECK(it != owner_.end(), "model weights: no tensor named '" + name + "'",
            "the checkpoint does not match the architecture; check config.json");
  return files_[it->second]->info(name);
}

torch::Tensor SafetensorsModel::tensor(const std::string& name, torch::Dtype dtype) const {
  auto it = owner_.find(name);
  UNL_CHECK(it != owner_.end(), "model weights: no tensor named '" + name + "'",
            "the checkpoint does not match the architecture; check config.json");
  return files_[it->second]->tensor(name, dtype);
}

std::vector<std::pair<std::string, torch::Tensor>> read_safetensors(const std::string& path) {
  SafetensorsFile file(path);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& name : file.names()) {
    const std::string& dt = file.info(name).dtype;
    out.emplace_back(name, file.tensor(name, find_dtype(dt)->torch_dtype));
  }
  return out;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> sorted;
  sorted.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    UNL_CHECK(name != "__metadata__", path + ": '__metadata__' cannot be a tensor name",
              "rename the tensor");
    UNL_CHECK(t.defined(), tensor_where(path, name) + "tensor is undefined", "pass a real tensor");
    UNL_CHECK(find_dtype(t.scalar_type()),
              tensor_where(path, name) + "dtype " + std::string(c10::toString(t.scalar_type())) +
                  " cannot be stored",
              "convert to float32/float16/bfloat16/float64 or an integer type first");
    sorted.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < sorted.size(); ++i)
    UNL_CHECK(sorted[i].first != sorted[i - 1].first,
              tensor_where(path, sorted[i].first) + "name given twice", "pass each tensor once");

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) {
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * find_dtype(t.scalar_type())->bytes;
    header[name] = {{"dtype", find_dtype(t.scalar_type())->name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  // Pad with spaces so the data starts 8-aligned after the 8-byte length, as the reference does.
  text.append((8 - text.size() % 8) % 8, ' ');

  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  Fd file;
  file.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  UNL_CHECK(file.fd >= 0, tmp + ": cannot create (" + std::strerror(errno) + ")",
            "check that the output directory exists and is writable");
  auto write_all = [&](const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = ::write(file.fd, c, std::min<size_t>(n, size_t{1} << 30));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const std::string err = std::strerror(errno);
        ::unlink(tmp.c_str());
        UNL_THROW(tmp + ": write failed (" + err + ")", "check free disk space and quotas");
      }
      c += w;
      n -= static_cast<size_t>(w);
    }
  };
  uint8_t len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  write_all(len, 8);
  write_all(text.data(), text.size());
  for (const auto& [name, t] : sorted)
    if (t.numel() > 0) write_all(t.data_ptr(), t.numel() * t.element_size());
  if (::fsync(file.fd) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    UNL_THROW(tmp + ": fsync failed (" + err + ")", "check the file system");
  }
  ::close(file.fd);
  file.fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    UNL_THROW(path + ": rename from temporary file failed (" + err + ")",
              "check that the output directory is writable");
  }
  // Make the rename itself durable.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd >= 0) ::fsync(d.fd);
}

}  // namespace unl::model
