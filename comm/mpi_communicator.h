// MPI backend: owns a duplicate of the user's communicator (errors returned, not fatal), runs
// every collective non-blocking under a stall watchdog that names ranks that never arrive.
#pragma once

#include <mpi.h>

#include <string>

#include "comm/communicator.h"

namespace unl::comm {

MPI_Datatype mpi_datatype(DType dtype);

class MpiCommunicator final : public Communicator {
 public:
  /// Duplicates `parent` (MPI_Comm_dup) so our traffic never mixes with the user's.
  MpiCommunicator(MPI_Comm parent, double stall_timeout_s);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void barrier() override;
  void allreduce(void* data, size_t count, DType dtype, ReduceOp op) override;
  void reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override;
  void allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void broadcast(std::vector<char>& bytes, int root) override;
  std::vector<std::vector<char>> gatherv(const std::vector<char>& mine, int root) override;
  [[noreturn]] void abort(int code) noexcept override;

  MPI_Comm handle() const { return comm_; }
  /// Number of collectives issued so far (the watchdog's sequence number).
  int64_t sequence() const { return sequence_; }

 private:
  /// Wait for a non-blocking collective; past the stall timeout, find out which ranks never
  /// arrived and throw unl::Error naming them.
  void wait(MPI_Request* request, const char* what);

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm watchdog_comm_ = MPI_COMM_NULL;  // point-to-point reports of stalled ranks
  int rank_ = 0, size_ = 1;
  double stall_timeout_s_;
  int64_t sequence_ = 0;
};

}  // namespace unl::comm
