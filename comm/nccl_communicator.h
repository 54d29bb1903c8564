// NCCL backend (built whenever NCCL is found, runs only on GPUs): bootstrapped by broadcasting the
// ncclUniqueId over MPI; device all-reduces go through NCCL on its own CUDA stream, host buffers
// and byte messages through the MPI communicator it wraps.
#pragma once

#include <mpi.h>

#include <memory>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"

namespace unl::comm {

class NcclCommunicator final : public Communicator {
 public:
  /// Selects this rank's CUDA device (node-local rank modulo the visible devices) first.
  NcclCommunicator(MPI_Comm parent, double stall_timeout_s);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return "nccl"; }
  void barrier() override { mpi_->barrier(); }
  void allreduce(void* data, size_t count, DType dtype, ReduceOp op) override;
  void reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override;
  void allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void broadcast(std::vector<char>& bytes, int root) override { mpi_->broadcast(bytes, root); }
  std::vector<std::vector<char>> gatherv(const std::vector<char>& mine, int root) override {
    return mpi_->gatherv(mine, root);
  }
  [[noreturn]] void abort(int code) noexcept override;

 private:
  std::unique_ptr<MpiCommunicator> mpi_;
  void* nccl_comm_ = nullptr;  // ncclComm_t
  void* stream_ = nullptr;     // cudaStream_t
};

}  // namespace unl::comm
