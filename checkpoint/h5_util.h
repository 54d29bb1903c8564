// Internal: the few checked HDF5 operations checkpoints need (files, groups, datasets, scalar
// attributes), each one owning its ids through unl::H5Handle. No torch here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/h5_handle.h"

namespace unl::checkpoint::h5 {

/// Create (truncate) a file for writing with our property lists (no file locking: the commit
/// protocol does not need it, and Lustre/NFS often refuse flock).
H5Handle create_file(const std::string& path);
/// Open read-only; nullopt when HDF5 cannot open it (truncated, not HDF5).
std::optional<H5Handle> open_file(const std::string& path);
/// Flush and close, checking both (a close failure means data may not be on disk).
void close_file(H5Handle& file);

/// Link creation properties that create missing intermediate groups.
H5Handle intermediate_lcpl();
H5Handle create_group(hid_t loc, const std::string& path);
/// Whether a link `path` (relative to loc) exists, checking each component along the way.
bool link_exists(hid_t loc, const std::string& path);
H5Handle open_group(hid_t loc, const std::string& path);
H5Handle open_dataset(hid_t loc, const std::string& path);

/// A contiguous, never-filled dataset of `dims` (empty dims: scalar) with native `type`,
/// intermediate groups created. Writes `data` in one H5Dwrite unless there are no elements.
H5Handle write_dataset(hid_t loc, const std::string& path, hid_t type,
                       const std::vector<std::uint64_t>& dims, const void* data);
/// Dataspace dims of a dataset (empty: scalar).
std::vector<std::uint64_t> dataset_dims(hid_t dset);
/// HDF5 type class and size of a dataset's stored type.
struct TypeInfo {
  int type_class = -1;  // H5T_class_t
  std::size_t size = 0;
};
TypeInfo dataset_type(hid_t dset);
/// Read the whole dataset into `out` (already sized) as memory type `type`, in one H5Dread.
void read_dataset(hid_t dset, hid_t type, void* out);

/// A scalar fixed-length string dataset holding arbitrary bytes (NULs too); the exact length is
/// kept in its "length" attribute because HDF5 strings cannot be empty.
void write_bytes_dataset(hid_t loc, const std::string& path, const std::string& bytes);
std::string read_bytes_dataset(hid_t loc, const std::string& path);

void write_attr_string(hid_t obj, const std::string& name, const std::string& value);
void write_attr_i64(hid_t obj, const std::string& name, std::int64_t value);
bool attr_exists(hid_t obj, const std::string& name);
std::string read_attr_string(hid_t obj, const std::string& name);
std::int64_t read_attr_i64(hid_t obj, const std::string& name);
/// Names of all attributes of an object, in creation (name) order.
std::vector<std::string> attr_names(hid_t obj);

}  // namespace unl::checkpoint::h5
