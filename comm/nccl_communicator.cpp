// NCCL backend implementation. Only compiled when NCCL is found (see comm/CMakeLists.txt).
#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>
#include <string>

#include "comm/mpi_env.h"
#include "common/error.h"

namespace unl::comm {
namespace {
ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kFloat64: return ncclFloat64;
    case DType::kInt32: return ncclInt32;
    case DType::kInt64: return ncclInt64;
    case DType::kUInt8: return ncclUint8;
    case DType::kFloat16: return ncclFloat16;
    case DType::kBFloat16:
#if NCCL_MAJOR > 2 || (NCCL_MAJOR == 2 && NCCL_MINOR >= 10)
      return ncclBfloat16;
#else
      break;
#endif
  }
  UNL_THROW("NCCL cannot reduce " + dtype_name(dtype), "use float32 gradients");
}
ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}
bool is_device_pointer(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error from a host pointer on old runtimes
    return false;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}
}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm parent, double stall_timeout_s)
    : mpi_(std::make_unique<MpiCommunicator>(parent, stall_timeout_s)) {
  // Each rank's GPU before any CUDA or NCCL call: node-local rank modulo the visible devices, the
  // same choice driver::select_device makes for the model. Without this every rank of a node would
  // create its stream and communicator on device 0.
  int devices = 0;
  UNL_CUDA_CHECK(cudaGetDeviceCount(&devices));
  UNL_CHECK(devices > 0, "the NCCL backend found no CUDA device", "set runtime.comm_backend = \"mpi\"");
  UNL_CUDA_CHECK(cudaSetDevice(node_placement().local_rank % devices));
  ncclUniqueId id;
  if (mpi_->rank() == 0) UNL_NCCL_CHECK(ncclGetUniqueId(&id));
  std::vector<char> bytes(reinterpret_cast<char*>(&id), reinterpret_cast<char*>(&id) + sizeof id);
  mpi_->broadcast(bytes, 0);
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(&id));
  cudaStream_t stream;
  // A blocking stream: it orders with the legacy default stream LibTorch uses, so gradients
  // computed there are complete before NCCL reads them.
  UNL_CUDA_CHECK(cudaStreamCreate(&stream));
  stream_ = stream;
  ncclComm_t comm;
  UNL_NCCL_CHECK(ncclCommInitRank(&comm, mpi_->size(), id, mpi_->rank()));
  nccl_comm_ = comm;
}

NcclCommunicator::~NcclCommunicator() {
  if (nccl_comm_) ncclCommDestroy(static_cast<ncclComm_t>(nccl_comm_));
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

void NcclCommunicator::allreduce(void* data, size_t count, DType dtype, ReduceOp op) {
  if (count == 0 || size() == 1) return;
  if (!is_device_pointer(data)) {
    mpi_->allreduce(data, count, dtype, op);
    return;
  }
  auto stream = static_cast<cudaStream_t>(stream_);
  UNL_NCCL_CHECK(ncclAllReduce(data, data, count, nccl_type(dtype), nccl_op(op),
                               static_cast<ncclComm_t>(nccl_comm_), stream));
  UNL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void NcclCommunicator::reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) {
  if (count == 0) return;
  if (!is_device_pointer(send)) {
    mpi_->reduce_scatter(send, recv, count, dtype, op);
    return;
  }
  auto stream = static_cast<cudaStream_t>(stream_);
  UNL_NCCL_CHECK(ncclReduceScatter(send, recv, count, nccl_type(dtype), nccl_op(op),
                                   static_cast<ncclComm_t>(nccl_comm_), stream));
  UNL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void NcclCommunicator::allgather(const void* send, void* recv, size_t count, DType dtype) {
  if (count == 0) return;
  if (!is_device_pointer(recv)) {
    mpi_->allgather(send, recv, count, dtype);
    return;
  }
  auto stream = static_cast<cudaStream_t>(stream_);
  // NCCL's all-gather is in place when send == recv + rank * count, as ours is.
  UNL_NCCL_CHECK(ncclAllGather(send, recv, count, nccl_type(dtype), static_cast<ncclComm_t>(nccl_comm_), stream));
  UNL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void NcclCommunicator::abort(int code) noexcept {
  if (nccl_comm_) ncclCommAbort(static_cast<ncclComm_t>(nccl_comm_));
  nccl_comm_ = nullptr;
  mpi_->abort(code);
}

}  // namespace unl::comm
