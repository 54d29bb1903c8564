// Internal: checked HDF5 C calls behind RAII handles, one wrapper per call, for checkpoint files.
#include "checkpoint/h5_util.h"

#include <algorithm>

#include "common/error.h"

namespace unl::checkpoint::h5 {
namespace {

H5Handle file_access() {
  H5Handle fapl(UNL_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS)), H5Pclose);
  // H5Pset_file_locking exists from 1.10.7 in the 1.10 series and from 1.12.1 on.
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
  UNL_H5_CHECK(H5Pset_file_locking(fapl.get(), false, true));
#endif
  return fapl;
}

H5Handle scalar_space() { return H5Handle(UNL_H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose); }

/// Fixed-length, NUL-padded string type of `size` bytes (>= 1).
H5Handle string_type(std::size_t size) {
  H5Handle t(UNL_H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
  UNL_H5_CHECK(H5Tset_size(t.get(), std::max<std::size_t>(size, 1)));
  UNL_H5_CHECK(H5Tset_strpad(t.get(), H5T_STR_NULLPAD));
  return t;
}

std::uint64_t element_count(const std::vector<std::uint64_t>& dims) {
  std::uint64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

H5Handle create_file(const std::string& path) {
  H5Handle fapl = file_access();
  // 1.8-style object headers and superblock carry checksums, so HDF5 itself rejects a corrupt
  // header; every HDF5 >= 1.8 (and h5py) reads them.
  UNL_H5_CHECK(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST));
  // A close that leaves objects open would silently keep the file open (and unflushed): fail.
  UNL_H5_CHECK(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_SEMI));
  return H5Handle(UNL_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get())),
                  H5Fclose);
}

std::optional<H5Handle> open_file(const std::string& path) {
  H5Handle fapl = file_access();
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) return std::nullopt;
  return H5Handle(id, H5Fclose);
}

void close_file(H5Handle& file) {
  UNL_H5_CHECK(H5Fflush(file.get(), H5F_SCOPE_LOCAL));
  UNL_H5_CHECK(file.reset());
}

H5Handle intermediate_lcpl() {
  H5Handle lcpl(UNL_H5_CHECK(H5Pcreate(H5P_LINK_CREATE)), H5Pclose);
  UNL_H5_CHECK(H5Pset_create_intermediate_group(lcpl.get(), 1));
  return lcpl;
}

H5Handle create_group(hid_t loc, const std::string& path) {
  H5Handle lcpl = intermediate_lcpl();
  return H5Handle(UNL_H5_CHECK(H5Gcreate2(loc, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT)),
                  H5Gclose);
}

bool link_exists(hid_t loc, const std::string& path) {
  // H5Lexists fails (rather than saying no) when an intermediate component is missing.
  std::size_t pos = 0;
  while (true) {
    std::size_t slash = path.find('/', pos);
    std::string prefix = path.substr(0, slash);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

H5Handle open_group(hid_t loc, const std::string& path) {
  return H5Handle(UNL_H5_CHECK(H5Gopen2(loc, path.c_str(), H5P_DEFAULT)), H5Gclose);
}

H5Handle open_dataset(hid_t loc, const std::string& path) {
  return H5Handle(UNL_H5_CHECK(H5Dopen2(loc, path.c_str(), H5P_DEFAULT)), H5Dclose);
}

H5Handle write_dataset(hid_t loc, const std::string& path, hid_t type,
                       const std::vector<std::uint64_t>& dims, const void* data) {
  H5Handle space;
  if (dims.empty()) {
    space = scalar_space();
  } else {
    std::vector<hsize_t> hd(dims.begin(), dims.end());
    space = H5Handle(UNL_H5_CHECK(H5Screate_simple(static_cast<int>(hd.size()), hd.data(), nullptr)),
                     H5Sclose);
  }
  // Contiguous and never pre-filled: the one H5Dwrite below is the only pass over the bytes.
  H5Handle dcpl(UNL_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  UNL_H5_CHECK(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS));
  UNL_H5_CHECK(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER));
  H5Handle lcpl = intermediate_lcpl();
  H5Handle dset(UNL_H5_CHECK(H5Dcreate2(loc, path.c_str(), type, space.get(), lcpl.get(), dcpl.get(),
                                        H5P_DEFAULT)),
                H5Dclose);
  if (element_count(dims) > 0)
    UNL_H5_CHECK(H5Dwrite(dset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  return dset;
}

std::vector<std::uint64_t> dataset_dims(hid_t dset) {
  H5Handle space(UNL_H5_CHECK(H5Dget_space(dset)), H5Sclose);
  int rank = UNL_H5_CHECK(H5Sget_simple_extent_ndims(space.get()));
  std::vector<hsize_t> hd(static_cast<std::size_t>(rank));
  if (rank > 0) UNL_H5_CHECK(H5Sget_simple_extent_dims(space.get(), hd.data(), nullptr));
  return std::vector<std::uint64_t>(hd.begin(), hd.end());
}

TypeInfo dataset_type(hid_t dset) {
  H5Handle t(UNL_H5_CHECK(H5Dget_type(dset)), H5Tclose);
  TypeInfo info;
  info.type_class = static_cast<int>(UNL_H5_CHECK(H5Tget_class(t.get())));
  info.size = H5Tget_size(t.get());
  return info;
}

void read_dataset(hid_t dset, hid_t type, void* out) {
  if (element_count(dataset_dims(dset)) == 0) return;
  UNL_H5_CHECK(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out));
}

void write_bytes_dataset(hid_t loc, const std::string& path, const std::string& bytes) {
  H5Handle type = string_type(bytes.size());
  const char zero = 0;
  H5Handle dset = write_dataset(loc, path, type.get(), {}, bytes.empty() ? &zero : bytes.data());
  write_attr_i64(dset.get(), "length", static_cast<std::int64_t>(bytes.size()));
}

std::string read_bytes_dataset(hid_t loc, const std::string& path) {
  H5Handle dset = open_dataset(loc, path);
  H5Handle ftype(UNL_H5_CHECK(H5Dget_type(dset.get())), H5Tclose);
  UNL_CHECK(H5Tget_class(ftype.get()) == H5T_STRING && H5Tis_variable_str(ftype.get()) == 0,
            "dataset '" + path + "' is not a fixed-length string", "");
  std::size_t size = H5Tget_size(ftype.get());
  std::int64_t length = read_attr_i64(dset.get(), "length");
  UNL_CHECK(length >= 0 && static_cast<std::size_t>(length) <= size,
            "dataset '" + path + "' has length attribute " + std::to_string(length) +
                " but holds " + std::to_string(size) + " bytes",
            "");
  // The string type's size is a claim of the file's: allocate only what the file stores.
  const StorageInfo stored = dataset_storage(dset.get());
  UNL_CHECK((stored.layout == H5D_CONTIGUOUS || stored.layout == H5D_COMPACT) && stored.external_files == 0 &&
                stored.stored_bytes == size,
            "dataset '" + path + "' claims a " + std::to_string(size) + "-byte string but stores " +
                std::to_string(stored.stored_bytes) + " bytes (layout " + std::to_string(stored.layout) + ")",
            "");
  std::string buf(size, '\0');
  H5Handle mtype = string_type(size);
  UNL_H5_CHECK(H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
  buf.resize(static_cast<std::size_t>(length));
  return buf;
}

void write_attr_string(hid_t obj, const std::string& name, const std::string& value) {
  H5Handle type = string_type(value.size());
  H5Handle space = scalar_space();
  H5Handle attr(UNL_H5_CHECK(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                        H5P_DEFAULT)),
                H5Aclose);
  const char zero = 0;
  UNL_H5_CHECK(H5Awrite(attr.get(), type.get(), value.empty() ? &zero : value.data()));
}

void write_attr_i64(hid_t obj, const std::string& name, std::int64_t value) {
  H5Handle space = scalar_space();
  H5Handle attr(UNL_H5_CHECK(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                                        H5P_DEFAULT)),
                H5Aclose);
  UNL_H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value));
}

bool attr_exists(hid_t obj, const std::string& name) {
  return UNL_H5_CHECK(H5Aexists(obj, name.c_str())) > 0;
}

// Our scalar attributes are read into one value: an attribute of several elements (a file not
// written by us) would overflow that buffer, so it is refused first.
namespace {
void check_single_element(hid_t attr, const std::string& name) {
  H5Handle space(UNL_H5_CHECK(H5Aget_space(attr)), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  UNL_CHECK(n == 1, "attribute '" + name + "' holds " + std::to_string(n) + " elements, not one", "");
}
}  // namespace

std::string read_attr_string(hid_t obj, const std::string& name) {
  H5Handle attr(UNL_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)), H5Aclose);
  check_single_element(attr.get(), name);
  H5Handle ftype(UNL_H5_CHECK(H5Aget_type(attr.get())), H5Tclose);
  UNL_CHECK(H5Tget_class(ftype.get()) == H5T_STRING,
            "attribute '" + name + "' is not a string", "");
  std::string out;
  if (UNL_H5_CHECK(H5Tis_variable_str(ftype.get())) > 0) {
    // Written by another tool (h5py writes variable-length strings by default).
    H5Handle mtype(UNL_H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
    UNL_H5_CHECK(H5Tset_size(mtype.get(), H5T_VARIABLE));
    char* s = nullptr;
    UNL_H5_CHECK(H5Aread(attr.get(), mtype.get(), &s));
    if (s) {
      out = s;
      H5free_memory(s);
    }
    return out;
  }
  std::size_t size = H5Tget_size(ftype.get());
  out.assign(size, '\0');
  H5Handle mtype = string_type(size);
  UNL_H5_CHECK(H5Aread(attr.get(), mtype.get(), out.data()));
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

std::int64_t read_attr_i64(hid_t obj, const std::string& name) {
  H5Handle attr(UNL_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)), H5Aclose);
  check_single_element(attr.get(), name);
  H5Handle ftype(UNL_H5_CHECK(H5Aget_type(attr.get())), H5Tclose);
  UNL_CHECK(H5Tget_class(ftype.get()) == H5T_INTEGER,
            "attribute '" + name + "' is not an integer", "");
  std::int64_t v = 0;
  UNL_H5_CHECK(H5Aread(attr.get(), H5T_NATIVE_INT64, &v));
  return v;
}

std::vector<std::string> attr_names(hid_t obj) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  UNL_H5_CHECK(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr_name, &names));
  return names;
}

}  // namespace unl::checkpoint::h5
