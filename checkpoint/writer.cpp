// Writing one checkpoint file atomically: one H5Dwrite per tensor straight from contiguous CPU
// memory, a checksum attribute per dataset and one over the metadata, then fsync + rename.
#include <unistd.h>

#include <future>

#include "checkpoint/checkpoint.h"
#include "checkpoint/durable.h"
#include "checkpoint/format.h"
#include "checkpoint/h5_util.h"
#include "common/config.h"
#include "common/error.h"
#include "common/hash.h"

namespace unl::checkpoint {
namespace {

using namespace format;

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
    // The checksum of a large tensor is computed on a second thread while HDF5 writes the same
    // bytes: hashing no longer adds to the write time (bench_checkpoint_io). One tensor at a time,
    // so a device->host copy is never held for more than the tensor being written.
    std::future<std::uint64_t> sum;
    if (bytes >= (std::size_t{1} << 20)) sum = std::async(std::launch::async, [data, bytes] { return hash64(data, bytes); });
    std::vector<std::uint64_t> dims(cpu.sizes().begin(), cpu.sizes().end());
    H5Handle dset = h5::write_dataset(root, name, native_type(spec->scalar), dims, data);
    const std::string checksum = hex64(sum.valid() ? sum.get() : hash64(data, bytes));
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

}  // namespace unl::checkpoint
