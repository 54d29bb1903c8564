// The Communicator seam: collectives the run loop needs (all-reduce, reduce-scatter, all-gather,
// broadcast, gather-v, barrier, abort) over raw buffers, with Local (1 process), MPI and NCCL implementations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace unl::comm {

enum class DType { kFloat32, kFloat64, kInt32, kInt64, kUInt8, kBFloat16, kFloat16 };
enum class ReduceOp { kSum, kMax, kMin };

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);

/// Collectives over one group of processes. Every rank must call the same collectives in the same
/// order; a rank without work still joins (with zero counts). Errors throw unl::Error.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "local", "mpi" or "nccl".
  virtual std::string backend() const = 0;
  virtual void barrier() = 0;
  /// In-place all-reduce of `count` elements. The NCCL backend takes device or host memory.
  virtual void allreduce(void* data, size_t count, DType dtype, ReduceOp op) = 0;
  /// Reduce-scatter in equal blocks (NCCL's semantics): `send` holds size() * count elements; this
  /// rank's `recv` (count elements, not overlapping `send`) receives block rank() of the reduction.
  /// Uneven sizes are padded by the caller (shard::FlatLayout pads each rank's slice).
  virtual void reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) = 0;
  /// All-gather in equal blocks: `recv` (size() * count elements) receives every rank's `send`
  /// block in rank order. In place when send == recv + rank() * count. Half types move as bits.
  virtual void allgather(const void* send, void* recv, size_t count, DType dtype) = 0;
  /// Broadcast bytes from root; other ranks' vectors are resized to the root's size.
  virtual void broadcast(std::vector<char>& bytes, int root) = 0;
  /// Gather variable-size byte blocks at root (index = rank); empty contributions are fine.
  /// Non-root ranks get an empty vector.
  virtual std::vector<std::vector<char>> gatherv(const std::vector<char>& mine, int root) = 0;
  /// Kill the whole job (never returns). Used by main after an error on any rank.
  [[noreturn]] virtual void abort(int code) noexcept = 0;

  // Convenience scalar reductions on host values.
  double allreduce_sum(double value);
  int64_t allreduce_sum(int64_t value);
  int64_t allreduce_max(int64_t value);
  /// True on every rank iff `flag` is true on any rank (e.g. a signal noticed by one rank).
  bool any(bool flag);
};

/// A single process: collectives are identities.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void barrier() override {}
  void allreduce(void*, size_t, DType, ReduceOp) override {}
  void reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override;
  void allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void broadcast(std::vector<char>&, int root) override;
  std::vector<std::vector<char>> gatherv(const std::vector<char>& mine, int root) override;
  [[noreturn]] void abort(int code) noexcept override;
};

struct CommOptions {
  /// "auto" (nccl when built with it and CUDA is used, else mpi; local when world is 1),
  /// "mpi", "nccl", "local".
  std::string backend = "auto";
  bool use_cuda = false;
  /// Seconds a collective may wait for the other ranks before the stall watchdog aborts the job,
  /// naming the ranks that never arrived. <= 0 disables it.
  double stall_timeout_s = 900;
};

/// Build the job's communicator over MPI_COMM_WORLD (MPI must be initialised).
std::unique_ptr<Communicator> make_communicator(const CommOptions& options);
/// Whether this build has the NCCL backend.
bool nccl_available();

}  // namespace unl::comm
