// One checkpoint file: write (atomic, one H5Dwrite per tensor straight from CPU memory), and
// read / verify / inspect, which check the format version and every checksum.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <optional>

#include "checkpoint/checkpoint.h"
#include "checkpoint/durable.h"
#include "checkpoint/h5_util.h"
#include "common/config.h"
#include "common/error.h"
#include "common/hash.h"

namespace unl::checkpoint {
namespace {

constexpr const char* kVersionAttr = "unlearn_format_version";
constexpr const char* kMetaHashAttr = "meta_xxh3_64";
constexpr const char* kCorruptHint =
    "delete this file and resume: the newest valid older checkpoint in the same directory is "
    "picked automatically";

struct DtypeSpec {
  torch::ScalarType scalar;
  const char* name;
  bool is_float;  // stored as an HDF5 float (else an integer; bf16/f16 as raw uint16)
};

const DtypeSpec kDtypes[] = {
    {torch::kFloat32, "float32", true}, {torch::kFloat64, "float64", true},
    {torch::kBFloat16, "bfloat16", false}, {torch::kFloat16, "float16", false},
    {torch::kInt64, "int64", false},     {torch::kInt32, "int32", false},
    {torch::kInt16, "int16", false},     {torch::kInt8, "int8", false},
    {torch::kUInt8, "uint8", false},     {torch::kBool, "bool", false},
};

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

/// Names become HDF5 paths: reject what HDF5 or our line-based lists cannot hold.
template <typename Map>
void validate_names(const Map& m, const char* kind, bool reserve_meta) {
  for (auto it = m.begin(); it != m.end(); ++it) {
    const std::string& n = it->first;
    std::string why;
    if (n.empty()) why = "is empty";
    else if (n.front() == '/' || n.back() == '/' || n.find("//") != std::string::npos)
      why = "has an empty path component";
    else if (n.find_first_of(std::string("\n\t\r\0", 4)) != std::string::npos)
      why = "contains a control character";
    else if (n == "." || n.find("./") == 0 || n.find("/./") != std::string::npos ||
             (n.size() >= 2 && n.compare(n.size() - 2, 2, "/.") == 0))
      why = "has a '.' path component";
    else if (reserve_meta && (n == "meta" || n.rfind("meta/", 0) == 0))
      why = "uses the reserved top-level group 'meta'";
    else {
      auto child = m.lower_bound(n + "/");
      if (child != m.end() && child->first.rfind(n + "/", 0) == 0)
        why = "is also a group (of '" + child->first + "')";
    }
    if (!why.empty())
      UNL_THROW(std::string("checkpoint ") + kind + " name '" + n + "' " + why,
                "use '/'-separated names without empty or '.' components, none a prefix group of "
                "another");
  }
}

void write_file(const std::string& path, const State& s) {
  H5Handle file = h5::create_file(path);
  hid_t root = file.get();
  H5Handle meta = h5::create_group(root, "meta");
  Hasher meta_hash;
  feed(meta_hash, kFormatVersion);

  std::vector<std::string> tensor_names;
  for (const auto& [name, tensor] : s.tensors) {
    UNL_CHECK(tensor.defined(), "checkpoint tensor '" + name + "' is undefined",
              "store only defined tensors");
    UNL_CHECK(tensor.layout() == torch::kStrided, "checkpoint tensor '" + name + "' is sparse",
              "store its dense form (to_dense()) or its index and value tensors");
    const DtypeSpec* spec = find_dtype(tensor.scalar_type());
    UNL_CHECK(spec, "checkpoint tensor '" + name + "' has unsupported dtype " +
                        std::string(c10::toString(tensor.scalar_type())),
              "convert it to float32, float64, bfloat16, float16, int64, int32, int16, int8, uint8 "
              "or bool first");
    // No copy for a contiguous CPU tensor; one device->host copy otherwise.
    torch::Tensor cpu = tensor.detach();
    if (!cpu.device().is_cpu()) cpu = cpu.to(torch::kCPU);
    cpu = cpu.contiguous();
    const auto bytes = static_cast<std::size_t>(cpu.numel()) * cpu.element_size();
    const void* data = cpu.numel() > 0 ? cpu.data_ptr() : nullptr;
    std::string checksum = hex64(hash64(data, bytes));
    std::vector<std::uint64_t> dims(cpu.sizes().begin(), cpu.sizes().end());
    H5Handle dset = h5::write_dataset(root, name, native_type(spec->scalar), dims, data);
    h5::write_attr_string(dset.get(), "dtype", spec->name);
    h5::write_attr_string(dset.get(), "xxh3_64", checksum);
    feed_tensor(meta_hash, name, spec->name, dims, checksum);
    tensor_names.push_back(name);
  }
  h5::write_bytes_dataset(meta.get(), "tensors", join_lines(tensor_names));

  std::vector<std::string> string_keys;
  H5Handle strings = h5::create_group(meta.get(), "strings");
  for (const auto& [key, value] : s.strings) {
    h5::write_bytes_dataset(strings.get(), key, value);
    feed(meta_hash, key);
    feed(meta_hash, value);
    string_keys.push_back(key);
  }
  h5::write_bytes_dataset(meta.get(), "string_keys", join_lines(string_keys));

  H5Handle ints = h5::create_group(meta.get(), "ints");
  for (const auto& [key, value] : s.ints) {
    h5::write_attr_i64(ints.get(), key, value);
    feed(meta_hash, key);
    feed(meta_hash, value);
  }

  h5::write_attr_i64(root, kVersionAttr, kFormatVersion);
  h5::write_attr_string(root, kMetaHashAttr, hex64(meta_hash.digest()));
  h5::write_attr_string(root, "writer", std::string("unlearn ") + UNL_VERSION);
  strings.reset();
  ints.reset();
  meta.reset();
  h5::close_file(file);
}

/// A problem already phrased for the user; guarded() passes it through unwrapped.
class CorruptError : public Error {
 public:
  using Error::Error;
};

/// Reads a checkpoint, checking everything. In collect mode problems are listed in the summary;
/// otherwise the first one throws.
class Reader {
 public:
  Reader(std::string path, bool collect, State* out) : path_(std::move(path)), collect_(collect), out_(out) {
    summary_.path = path_;
  }

  Summary run() {
    H5ErrorsMuted muted;
    struct stat st {};
    UNL_CHECK(::stat(path_.c_str(), &st) == 0, "checkpoint '" + path_ + "' does not exist",
              "check the path; checkpoints are written to <output.dir>/checkpoints/");
    summary_.file_bytes = static_cast<std::uint64_t>(st.st_size);
    auto file = h5::open_file(path_);
    UNL_CHECK(file.has_value(),
              "checkpoint '" + path_ + "' is corrupt: HDF5 cannot open it (truncated, partially "
              "written, or not an HDF5 file)",
              kCorruptHint);
    hid_t root = file->get();
    check_version(root);
    Hasher meta_hash;
    feed(meta_hash, kFormatVersion);
    read_tensors(root, meta_hash);
    read_strings(root, meta_hash);
    read_ints(root, meta_hash);
    std::string stored = guarded("attribute '" + std::string(kMetaHashAttr) + "'", [&] {
      return h5::read_attr_string(root, kMetaHashAttr);
    });
    summary_.meta_ok = stored == hex64(meta_hash.digest());
    if (!stored.empty() && !summary_.meta_ok)
      problem("metadata checksum mismatch (stored " + stored + ", computed " + hex64(meta_hash.digest()) +
              "): the tensor list, a tensor's dtype/shape/checksum attribute, a string or an int "
              "was changed");
    return std::move(summary_);
  }

 private:
  void problem(const std::string& what) {
    if (!collect_)
      throw CorruptError("checkpoint '" + path_ + "' is corrupt: " + what, kCorruptHint, __FILE__,
                         __LINE__);
    summary_.problems.push_back(what);
  }

  /// Run an HDF5 step; an HDF5 failure becomes a problem naming `what`. Returns {} then.
  template <typename F>
  auto guarded(const std::string& what, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const CorruptError&) {
      throw;
    } catch (const Error& e) {
      problem(what + " is missing or unreadable (" + e.description() + ")");
      return {};
    }
  }

  void check_version(hid_t root) {
    bool has = false;
    std::int64_t version = 0;
    try {
      has = h5::attr_exists(root, kVersionAttr);
      if (has) version = h5::read_attr_i64(root, kVersionAttr);
    } catch (const Error& e) {
      UNL_THROW("checkpoint '" + path_ + "' is corrupt: its format version cannot be read (" +
                    e.description() + ")",
                kCorruptHint);
    }
    UNL_CHECK(has, "'" + path_ + "' is an HDF5 file but not an unlearn checkpoint (no '" +
                       std::string(kVersionAttr) + "' attribute)",
              "pass a file written by `unlearn run` (<output.dir>/checkpoints/ckpt-*.h5)");
    UNL_CHECK(version == kFormatVersion,
              "checkpoint '" + path_ + "' has format version " + std::to_string(version) +
                  ", this build of unlearn reads version " + std::to_string(kFormatVersion),
              "resume it with the unlearn release that wrote it, or start over with --fresh");
    summary_.format_version = version;
  }

  /// A tensor whose bytes are read and whose checksum is being computed on another thread.
  struct Pending {
    std::size_t index = 0;  // into summary_.tensors
    torch::Tensor tensor;
    std::future<std::uint64_t> hash;
  };

  void read_tensors(hid_t root, Hasher& meta_hash) {
    std::string list = guarded("dataset 'meta/tensors' (the tensor list)",
                               [&] { return h5::read_bytes_dataset(root, "meta/tensors"); });
    // Hashing tensor i overlaps reading tensor i+1 (HDF5 itself stays on this thread).
    std::optional<Pending> pending;
    for (const std::string& name : split_lines(list)) {
      summary_.tensors.push_back(TensorInfo{});
      const std::size_t index = summary_.tensors.size() - 1;
      summary_.tensors[index].name = name;
      if (!h5::link_exists(root, name)) {
        problem("dataset '" + name + "' is missing");
        feed(meta_hash, name);
        continue;
      }
      std::optional<Pending> next =
          guarded("dataset '" + name + "'", [&] { return start_read(root, index, meta_hash); });
      if (pending) finish(*pending);
      pending = std::move(next);
    }
    if (pending) finish(*pending);
  }

  std::optional<Pending> start_read(hid_t root, std::size_t index, Hasher& meta_hash) {
    TensorInfo& info = summary_.tensors[index];
    const std::string& name = info.name;
    H5Handle dset = h5::open_dataset(root, name);
    info.dtype = h5::read_attr_string(dset.get(), "dtype");
    info.checksum = h5::read_attr_string(dset.get(), "xxh3_64");
    std::vector<std::uint64_t> dims = h5::dataset_dims(dset.get());
    info.shape.assign(dims.begin(), dims.end());
    feed_tensor(meta_hash, name, info.dtype, dims, info.checksum);
    const DtypeSpec* spec = find_dtype(info.dtype);
    if (!spec) {
      problem("dataset '" + name + "' has unknown dtype attribute '" + info.dtype + "'");
      return std::nullopt;
    }
    torch::Tensor t = torch::empty(info.shape, torch::TensorOptions().dtype(spec->scalar));
    h5::TypeInfo stored = h5::dataset_type(dset.get());
    bool class_ok = stored.type_class == (spec->is_float ? H5T_FLOAT : H5T_INTEGER);
    if (!class_ok || stored.size != static_cast<std::size_t>(t.element_size())) {
      problem("dataset '" + name + "' stores " + std::to_string(stored.size) +
              "-byte elements of HDF5 class " + std::to_string(stored.type_class) +
              ", which do not hold dtype " + info.dtype);
      return std::nullopt;
    }
    info.bytes = static_cast<std::uint64_t>(t.numel()) * t.element_size();
    void* data = t.numel() > 0 ? t.data_ptr() : nullptr;
    h5::read_dataset(dset.get(), native_type(spec->scalar), data);
    const std::size_t bytes = info.bytes;
    // Small tensors hash inline: a thread costs more than hashing a few KB.
    std::launch policy = bytes >= (std::size_t{1} << 20) ? std::launch::async : std::launch::deferred;
    Pending p;
    p.index = index;
    p.tensor = t;
    p.hash = std::async(policy, [t, data, bytes] { return hash64(data, bytes); });
    return p;
  }

  void finish(Pending& p) {
    TensorInfo& info = summary_.tensors[p.index];
    std::string computed = hex64(p.hash.get());
    if (computed != info.checksum) {
      problem("dataset '" + info.name + "' checksum mismatch (stored " + info.checksum +
              ", computed " + computed + ")");
      return;
    }
    info.ok = true;
    if (out_) out_->tensors.emplace(info.name, std::move(p.tensor));
  }

  void read_strings(hid_t root, Hasher& meta_hash) {
    std::string list = guarded("dataset 'meta/string_keys' (the string list)",
                               [&] { return h5::read_bytes_dataset(root, "meta/string_keys"); });
    for (const std::string& key : split_lines(list)) {
      std::string path = "meta/strings/" + key;
      std::string value;
      if (!h5::link_exists(root, path))
        problem("string '" + key + "' (dataset '" + path + "') is missing");
      else
        value = guarded("string '" + key + "' (dataset '" + path + "')",
                        [&] { return h5::read_bytes_dataset(root, path); });
      feed(meta_hash, key);
      feed(meta_hash, value);
      summary_.strings[key] = value;
      if (out_) out_->strings[key] = std::move(value);
    }
  }

  void read_ints(hid_t root, Hasher& meta_hash) {
    guarded("group 'meta/ints'", [&] {
      H5Handle ints = h5::open_group(root, "meta/ints");
      std::map<std::string, std::int64_t> values;
      for (const std::string& key : h5::attr_names(ints.get()))
        values[key] = guarded("int '" + key + "' (attribute of 'meta/ints')",
                              [&] { return h5::read_attr_i64(ints.get(), key); });
      for (const auto& [key, value] : values) {
        feed(meta_hash, key);
        feed(meta_hash, value);
      }
      summary_.ints = values;
      if (out_) out_->ints = std::move(values);
      return 0;
    });
  }

  std::string path_;
  bool collect_;
  State* out_;
  Summary summary_;
};

}  // namespace

void write(const std::string& path, const State& s) {
  validate_names(s.tensors, "tensor", true);
  validate_names(s.strings, "string", false);
  for (const auto& [key, value] : s.ints)
    UNL_CHECK(!key.empty() && key.find_first_of(std::string("\n\0", 2)) == std::string::npos,
              "checkpoint int name '" + key + "' is empty or contains a control character",
              "use a plain name such as 'epoch'");
  const std::string dir = durable::parent_dir(path);
  UNL_CHECK(::access(dir.c_str(), W_OK) == 0,
            "cannot write checkpoint '" + path + "': directory '" + dir + "' " +
                (::access(dir.c_str(), F_OK) == 0 ? "is not writable" : "does not exist"),
            "create it or choose another output.dir");
  H5ErrorsMuted muted;
  const std::string tmp = durable::temp_name(path);
  try {
    write_file(tmp, s);
    durable::fsync_file(tmp);
    durable::rename_durably(tmp, path);
  } catch (const Error& e) {
    durable::remove_quietly(tmp);
    UNL_THROW("writing checkpoint '" + path + "' failed: " + e.description(),
              e.hint().empty() ? "check the directory is writable and the filesystem has space"
                               : e.hint());
  } catch (...) {
    durable::remove_quietly(tmp);
    throw;
  }
}

State read(const std::string& path) {
  State s;
  Reader(path, false, &s).run();
  return s;
}

void verify(const std::string& path) { Reader(path, false, nullptr).run(); }

Summary inspect(const std::string& path) { return Reader(path, true, nullptr).run(); }

}  // namespace unl::checkpoint
