// Checkpoints: a generic, self-validating HDF5 container (tensors, strings, ints) written atomically,
// and the out_dir/checkpoints/ directory that keeps the last N and finds the newest good one.
// Layout and commit protocol: docs/checkpoint-format.md.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace unl::checkpoint {

/// The version this build writes and the only one it reads.
constexpr std::int64_t kFormatVersion = 1;

/// Everything a job needs to resume, in generic form; the run loop maps its state onto it.
struct State {
  /// Path-like names ("model/transformer.wte.weight", "optim/exp_avg/...", "samples/flags"):
  /// each '/' is an HDF5 group. Names may contain '.', not whitespace controls; the top-level
  /// name "meta" is reserved. Supported dtypes: float32, float64, bfloat16, float16, int64,
  /// int32, int16, int8, uint8, bool. Tensors may live on any device; they are read back on CPU.
  std::map<std::string, torch::Tensor> tensors;
  /// Arbitrary byte strings (may hold binary data): "config_toml", "config_hash", "rng/torch".
  std::map<std::string, std::string> strings;
  /// Counters: "epoch", "step", "batch_in_epoch", "world_size".
  std::map<std::string, std::int64_t> ints;
};

/// Write `s` to `path` atomically: a temp file in the same directory, fsync, rename, fsync of
/// the directory. A crash at any point leaves whatever was at `path` before intact.
/// Throws unl::Error naming the tensor/key for unsupported content, or the I/O failure.
void write(const std::string& path, const State& s);

/// Read and verify every checksum and the format version. Throws unl::Error naming the file and
/// the dataset/key that is missing or corrupt.
State read(const std::string& path);

/// Like read(), but keeps no tensors (peak memory: the largest tensor). Throws like read().
void verify(const std::string& path);

/// One dataset as `inspect` sees it.
struct TensorInfo {
  std::string name;
  std::string dtype;                // torch dtype name, e.g. "float32", "bfloat16"
  std::vector<std::int64_t> shape;  // empty for a 0-d tensor
  std::uint64_t bytes = 0;
  std::string checksum;             // stored XXH3-64, 16 hex digits
  bool ok = false;                  // data present and checksum matches
};

/// What a checkpoint holds, with every checksum verified; for `unlearn inspect`.
struct Summary {
  std::string path;
  std::uint64_t file_bytes = 0;
  std::int64_t format_version = 0;
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> strings;
  std::map<std::string, std::int64_t> ints;
  bool meta_ok = false;               // names, dtypes, shapes, strings and ints match their checksum
  std::vector<std::string> problems;  // one human line per problem; empty when the file is good
  bool ok() const { return problems.empty(); }
};

/// List the contents and verify every checksum, collecting problems instead of stopping at the
/// first. Throws unl::Error only when the file is missing, not HDF5, not an unlearn checkpoint,
/// or of another format version.
Summary inspect(const std::string& path);

/// A human-readable multi-line rendering of a Summary (strings longer than `max_string` bytes
/// are shortened, binary ones shown by size).
std::string format_summary(const Summary& s, std::size_t max_string = 120);

/// out_dir/checkpoints/: files ckpt-<step, 10 digits>.h5, a `latest` text file naming the newest
/// committed one, and retention of the last `keep_last`.
class Directory {
 public:
  /// `dir` is created on the first commit. keep_last >= 1.
  Directory(std::string dir, int keep_last);

  /// Write ckpt-<step>.h5 atomically, then `latest` atomically, then prune: keep the newest
  /// keep_last files with step <= `step` (always the one just written) and delete the ones with
  /// a larger step (an abandoned timeline: the run was resumed from an older checkpoint), and
  /// stale temp files of crashed writers. Returns the path written.
  std::string commit(const State& s, std::int64_t step);

  /// Newest checkpoint (by step) that reads and verifies; corrupt or partial ones are skipped
  /// with a warning naming them and why. nullopt when there is none (or no directory).
  std::optional<std::string> newest_valid() const;

  /// newest_valid() and its contents in one pass (each file is read once).
  std::optional<std::pair<std::string, State>> load_newest_valid() const;

  /// All ckpt-*.h5 files by ascending step (valid or not); temp files excluded.
  std::vector<std::pair<std::int64_t, std::string>> list() const;

  const std::string& dir() const { return dir_; }
  /// The file name a step is committed under: "ckpt-0000000042.h5".
  static std::string file_name(std::int64_t step);

 private:
  std::string dir_;
  int keep_last_;
};

}  // namespace unl::checkpoint
