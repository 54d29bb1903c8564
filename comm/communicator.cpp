// Backend-independent parts: dtype tables, scalar helpers, the local communicator, the factory.
#include "comm/communicator.h"

#include <mpi.h>

#include <cstdlib>
#include <cstring>

#include "comm/mpi_communicator.h"
#include "common/config.h"
#include "common/error.h"
#if UNL_HAVE_NCCL
#include "comm/nccl_communicator.h"
#endif

namespace unl::comm {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kFloat64: return 8;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kUInt8: return 1;
    case DType::kBFloat16: return 2;
    case DType::kFloat16: return 2;
  }
  return 0;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kBFloat16: return "bfloat16";
    case DType::kFloat16: return "float16";
  }
  return "?";
}

double Communicator::allreduce_sum(double value) {
  allreduce(&value, 1, DType::kFloat64, ReduceOp::kSum);
  return value;
}
int64_t Communicator::allreduce_sum(int64_t value) {
  allreduce(&value, 1, DType::kInt64, ReduceOp::kSum);
  return value;
}
int64_t Communicator::allreduce_max(int64_t value) {
  allreduce(&value, 1, DType::kInt64, ReduceOp::kMax);
  return value;
}
bool Communicator::any(bool flag) { return allreduce_max(flag ? 1 : 0) != 0; }

void LocalCommunicator::reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp) {
  if (send != recv && count > 0) std::memmove(recv, send, count * dtype_size(dtype));
}
void LocalCommunicator::allgather(const void* send, void* recv, size_t count, DType dtype) {
  if (send != recv && count > 0) std::memmove(recv, send, count * dtype_size(dtype));
}
void LocalCommunicator::broadcast(std::vector<char>&, int root) {
  UNL_CHECK(root == 0, "broadcast root " + std::to_string(root) + " outside a world of 1", "");
}
std::vector<std::vector<char>> LocalCommunicator::gatherv(const std::vector<char>& mine, int root) {
  UNL_CHECK(root == 0, "gather root " + std::to_string(root) + " outside a world of 1", "");
  return {mine};
}
void LocalCommunicator::abort(int code) noexcept {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

bool nccl_available() { return UNL_HAVE_NCCL != 0; }

std::unique_ptr<Communicator> make_communicator(const CommOptions& options) {
  std::string backend = options.backend;
  if (backend == "auto") backend = options.use_cuda && nccl_available() ? "nccl" : "mpi";
  if (backend == "local") return std::make_unique<LocalCommunicator>();
  if (backend == "mpi") return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, options.stall_timeout_s);
  if (backend == "nccl") {
#if UNL_HAVE_NCCL
    UNL_CHECK(options.use_cuda, "the NCCL backend needs CUDA tensors",
              "set runtime.device = \"cuda\" or runtime.comm_backend = \"mpi\"");
    return std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, options.stall_timeout_s);
#else
    UNL_USAGE_ERROR("this build of unlearn has no NCCL backend",
                    "rebuild with NCCL found (NCCL_HOME or /usr/local/cuda), or set runtime.comm_backend = \"mpi\"");
#endif
  }
  UNL_USAGE_ERROR("unknown communication backend '" + backend + "'",
                  "use one of auto, mpi, nccl, local");
}

}  // namespace unl::comm
