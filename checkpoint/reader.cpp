// Reading one checkpoint file: read / verify / inspect check the format version, every dataset's
// checksum and the metadata checksum, naming the file and the dataset or key that is damaged.
#include <sys/stat.h>

#include <future>
#include <limits>
#include <optional>

#include "checkpoint/checkpoint.h"
#include "checkpoint/format.h"
#include "checkpoint/h5_util.h"
#include "common/error.h"
#include "common/hash.h"

namespace unl::checkpoint {
namespace {

using namespace format;

constexpr const char* kCorruptHint =
    "delete this file and resume: the newest valid older checkpoint in the same directory is "
    "picked automatically";

std::string shape_string(const std::vector<std::uint64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string layout_name(int layout) {
  switch (layout) {
    case H5D_CHUNKED: return "chunked";
    case H5D_VIRTUAL: return "a virtual dataset";
    default: return "of HDF5 layout " + std::to_string(layout);
  }
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
    // The shape is the file's claim: bound the bytes it implies by what the file stores before
    // allocating. Our writer makes contiguous datasets holding exactly shape x element size.
    const std::uint64_t element = static_cast<std::uint64_t>(
        torch::empty({0}, torch::TensorOptions().dtype(spec->scalar)).element_size());
    std::uint64_t claimed = element;
    for (std::uint64_t d : dims) {
      if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          __builtin_mul_overflow(claimed, d, &claimed) ||
          claimed > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        problem("dataset '" + name + "' has shape " + shape_string(dims) + ", whose byte size overflows");
        return std::nullopt;
      }
    }
    const StorageInfo storage = dataset_storage(dset.get());
    if (storage.layout != H5D_CONTIGUOUS && storage.layout != H5D_COMPACT) {
      problem("dataset '" + name + "' is " + layout_name(storage.layout) +
              "; checkpoints store tensors as contiguous datasets");
      return std::nullopt;
    }
    if (storage.external_files != 0 || storage.stored_bytes != claimed ||
        claimed > summary_.file_bytes) {
      problem("dataset '" + name + "' has shape " + shape_string(dims) + " of " + info.dtype + " (" +
              std::to_string(claimed) + " bytes) but stores " + std::to_string(storage.stored_bytes) +
              " bytes in the " + std::to_string(summary_.file_bytes) + "-byte file" +
              (storage.external_files ? " (its data is in external files)" : ""));
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

State read(const std::string& path) {
  State s;
  Reader(path, false, &s).run();
  return s;
}

void verify(const std::string& path) { Reader(path, false, nullptr).run(); }

Summary inspect(const std::string& path) { return Reader(path, true, nullptr).run(); }

}  // namespace unl::checkpoint
