// HDF5 token datasets: read a 2-D integer dataset (or its first rows) as int64 rows, and write
// one. Every id lives in an H5Handle; HDF5's own error printing is muted while we work.
#include <hdf5.h>

#include <algorithm>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/h5_handle.h"
#include "data/data.h"

namespace unl::data {
namespace {

std::string shape_str(const hsize_t* dims) {
  return "(" + std::to_string(dims[0]) + ", " + std::to_string(dims[1]) + ")";
}

// Bounds what the shape in the header may make us allocate by what the file stores, before any
// buffer is sized: a dataset's shape is only a claim (a chunked dataset with no chunks written
// reads as fill values, so a 2 KB file can claim 10^12 rows).
void check_storage(hid_t ds, const std::string& where, const hsize_t* dims, hsize_t rows, size_t item) {
  UNL_CHECK(dims[1] > 0 || dims[0] == 0,
            where + ": shape " + shape_str(dims) + " claims rows of zero tokens",
            "every sequence needs at least 2 tokens; store tokens as [num_sequences, tokens_per_sequence]");
  hsize_t claimed = 0, wanted = 0;
  UNL_CHECK(!__builtin_mul_overflow(dims[0], dims[1], &claimed) &&
                !__builtin_mul_overflow(claimed, static_cast<hsize_t>(item), &claimed) &&
                claimed <= static_cast<hsize_t>(std::numeric_limits<int64_t>::max()),
            where + ": shape " + shape_str(dims) + " x " + std::to_string(item) + "-byte items overflows",
            "the file is corrupt; re-write the dataset");
  wanted = rows * dims[1] * item;  // <= claimed
  if (claimed == 0) return;
  const StorageInfo storage = dataset_storage(ds);
  UNL_CHECK(storage.layout == H5D_CONTIGUOUS || storage.layout == H5D_COMPACT || storage.layout == H5D_CHUNKED,
            where + ": a virtual dataset (its data lives in other files), which is not read",
            "copy the data into a plain dataset: f.create_dataset(name, data=vds[...])");
  UNL_CHECK(storage.external_files == 0,
            where + ": the dataset's data lives in external raw files, which are not read",
            "copy the data into the HDF5 file: f.create_dataset(name, data=ds[...])");
  const hsize_t stored = storage.stored_bytes;
  if (storage.layout == H5D_CHUNKED) {
    // HDF5 decompresses a whole chunk to read any element of it, whatever we select.
    H5Handle dcpl(UNL_H5_CHECK(H5Dget_create_plist(ds)), H5Pclose);
    hsize_t chunk[2] = {0, 0}, chunk_bytes = item;
    UNL_H5_CHECK(H5Pget_chunk(dcpl.get(), 2, chunk));
    const bool chunk_overflow = __builtin_mul_overflow(chunk_bytes, chunk[0], &chunk_bytes) ||
                                __builtin_mul_overflow(chunk_bytes, chunk[1], &chunk_bytes);
    UNL_CHECK(!chunk_overflow && chunk_bytes <= static_cast<hsize_t>(kMaxH5ChunkBytes),
              where + ": chunks of " + shape_str(chunk) + " x " + std::to_string(item) + " bytes exceed the limit of " +
                  std::to_string(kMaxH5ChunkBytes) + " bytes per chunk",
              "re-write the dataset with smaller chunks (h5py's chunks=True picks about 1 MB)");
    UNL_CHECK(wanted / static_cast<hsize_t>(kMaxH5ExpansionRatio) <= stored,
              where + ": chunked dataset of shape " + shape_str(dims) + " claims " + std::to_string(wanted) +
                  " bytes to read but stores only " + std::to_string(stored) + " (limit: " +
                  std::to_string(kMaxH5ExpansionRatio) + " x the stored bytes)",
              "the shape is corrupt or the chunks were never written; re-write the dataset with its data");
  } else {
    UNL_CHECK(stored == claimed,
              where + ": shape " + shape_str(dims) + " of " + std::to_string(item) + "-byte integers needs " +
                  std::to_string(claimed) + " bytes but the file stores " + std::to_string(stored),
              "the shape is corrupt or the data was never written; re-write the dataset with its data");
  }
}

}  // namespace

std::vector<std::vector<int64_t>> read_h5_tokens(const std::string& path, const std::string& name, int64_t max_rows) {
  H5ErrorsMuted muted;
  const std::string where = path + ":/" + name;
  UNL_CHECK(H5Fis_hdf5(path.c_str()) > 0, "'" + path + "' is missing or not an HDF5 file",
            "check the path; a truncated copy is not readable (h5dump -H shows whether HDF5 can open it)");
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  UNL_CHECK(file.valid(), "cannot open '" + path + "' as HDF5", "check permissions; the file may be corrupt");
  // H5Lexists fails (< 0) rather than answering 0 when an intermediate group of "a/b" is missing.
  UNL_CHECK(!name.empty() && H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) > 0,
            path + ": no dataset '" + name + "'",
            "set data.h5_dataset to the dataset holding the token ids (h5ls -r lists them)");
  {
    // H5Oopen + H5Iget_type tells a group from a dataset on every HDF5 version (1.10 and 1.12+).
    H5Handle obj(UNL_H5_CHECK(H5Oopen(file.get(), name.c_str(), H5P_DEFAULT)), H5Oclose);
    UNL_CHECK(H5Iget_type(obj.get()) == H5I_DATASET, where + " is a group or named type, not a dataset",
              "set data.h5_dataset to the dataset holding the token ids (h5ls -r lists them)");
  }
  H5Handle ds(UNL_H5_CHECK(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT)), H5Dclose);
  H5Handle type(UNL_H5_CHECK(H5Dget_type(ds.get())), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  const std::string kind = cls == H5T_FLOAT    ? "floating-point"
                           : cls == H5T_STRING ? "string"
                           : cls == H5T_COMPOUND ? "compound"
                                                 : "HDF5 type class " + std::to_string(cls);
  UNL_CHECK(cls == H5T_INTEGER, where + ": a " + kind + " dataset, not integers",
            "token ids must be stored as integers, e.g. f.create_dataset(name, data=a.astype('int64'))");
  const size_t size = H5Tget_size(type.get());
  UNL_CHECK(size > 0, where + ": cannot read the dataset's integer size", "the file may be corrupt");
  const H5T_sign_t sign = UNL_H5_CHECK(H5Tget_sign(type.get()));
  UNL_CHECK(!(size > 8 || (size == 8 && sign == H5T_SGN_NONE)),
            where + ": " + std::to_string(size) + "-byte " + (sign == H5T_SGN_NONE ? "unsigned" : "signed") +
                " integers cannot all be represented as int64 token ids",
            "store token ids as int64, int32 or uint16");
  H5Handle space(UNL_H5_CHECK(H5Dget_space(ds.get())), H5Sclose);
  const int ndims = UNL_H5_CHECK(H5Sget_simple_extent_ndims(space.get()));
  UNL_CHECK(ndims == 2, where + ": a " + std::to_string(ndims) + "-D dataset; token datasets must be 2-D",
            "store tokens as [num_sequences, tokens_per_sequence]");
  hsize_t dims[2] = {0, 0};
  UNL_H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims, nullptr));
  const hsize_t rows = max_rows >= 0 ? std::min<hsize_t>(dims[0], static_cast<hsize_t>(max_rows)) : dims[0];
  const hsize_t cols = dims[1];
  check_storage(ds.get(), where, dims, rows, size);
  std::vector<std::vector<int64_t>> out(rows);
  if (rows == 0 || cols == 0) {
    for (auto& r : out) r.clear();
    return out;
  }
  // Read only the rows asked for: a hyperslab of the file space into a matching memory space.
  const hsize_t start[2] = {0, 0}, count[2] = {rows, cols};
  UNL_H5_CHECK(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr));
  H5Handle mem(UNL_H5_CHECK(H5Screate_simple(2, count, nullptr)), H5Sclose);
  std::vector<int64_t> flat(rows * cols);
  // HDF5 converts any stored integer width/sign/byte order to native int64 here.
  UNL_CHECK(H5Dread(ds.get(), H5T_NATIVE_INT64, mem.get(), space.get(), H5P_DEFAULT, flat.data()) >= 0,
            where + ": reading " + std::to_string(rows) + " x " + std::to_string(cols) + " tokens failed",
            "the file may be truncated or corrupt (h5dump the dataset to check)");
  for (hsize_t r = 0; r < rows; ++r) out[r].assign(flat.begin() + r * cols, flat.begin() + (r + 1) * cols);
  return out;
}

void write_h5_tokens(const std::string& path, const std::string& name, const std::vector<std::vector<int64_t>>& rows) {
  const size_t cols = rows.empty() ? 0 : rows[0].size();
  std::vector<int64_t> flat;
  flat.reserve(rows.size() * cols);
  for (size_t r = 0; r < rows.size(); ++r) {
    UNL_CHECK(rows[r].size() == cols,
              "cannot write '" + path + "': row " + std::to_string(r) + " has " + std::to_string(rows[r].size()) +
                  " tokens, row 0 has " + std::to_string(cols) + " (ragged)",
              "pad or truncate the rows to one length first");
    flat.insert(flat.end(), rows[r].begin(), rows[r].end());
  }
  H5ErrorsMuted muted;
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  UNL_CHECK(file.valid(), "cannot create '" + path + "'", "check the directory exists and is writable");
  const hsize_t dims[2] = {rows.size(), cols};
  H5Handle space(UNL_H5_CHECK(H5Screate_simple(2, dims, nullptr)), H5Sclose);
  H5Handle ds(UNL_H5_CHECK(H5Dcreate2(file.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                      H5P_DEFAULT)),
              H5Dclose);
  if (!flat.empty())
    UNL_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat.data()) >= 0,
              "write to '" + path + "' failed", "the disk may be full");
  // Close explicitly so a failed flush is reported instead of being swallowed by a destructor.
  UNL_H5_CHECK(ds.reset());
  UNL_H5_CHECK(space.reset());
  UNL_CHECK(file.reset() >= 0, "closing '" + path + "' failed", "the disk may be full");
}

}  // namespace unl::data
