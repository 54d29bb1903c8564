// unl::Error and the check macros: every failure names the rank, the source line, what happened
// and a HINT for the user, so a message in a 1000-rank log is actionable on its own.
#pragma once

#include <stdexcept>
#include <string>

namespace unl {

/// The process's rank in the job, used to prefix errors and logs. -1 until set.
int current_rank();
/// Set once after MPI is up (or to 0 for a single process).
void set_current_rank(int rank);

/// A failure the user can act on. what() is "rank R (file:line): what happened. HINT: fix".
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, const std::string& hint, const char* file, int line);
  /// The bare description, without rank, location or hint.
  const std::string& description() const { return description_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string description_;
  std::string hint_;
};

/// Wrong command line or configuration: main exits with code 2 instead of 1.
class UsageError : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& what,
                              const std::string& hint);
[[noreturn]] void throw_usage(const char* file, int line, const std::string& what,
                              const std::string& hint);
[[noreturn]] void throw_mpi(const char* file, int line, const char* call, int code);
}  // namespace detail

}  // namespace unl

/// Throw unl::Error with a description and a hint.
#define UNL_THROW(what, hint) ::unl::detail::throw_error(__FILE__, __LINE__, (what), (hint))
/// Throw unl::UsageError (exit code 2).
#define UNL_USAGE_ERROR(what, hint) ::unl::detail::throw_usage(__FILE__, __LINE__, (what), (hint))
/// Check a condition; on failure throw unl::Error. `what` and `hint` are evaluated only then.
#define UNL_CHECK(cond, what, hint)                                         \
  do {                                                                      \
    if (!(cond)) ::unl::detail::throw_error(__FILE__, __LINE__, (what), (hint)); \
  } while (0)
/// Check an MPI call's return code (communicators use MPI_ERRORS_RETURN).
#define UNL_MPI_CHECK(call)                                                 \
  do {                                                                      \
    int unl_mpi_rc_ = (call);                                               \
    if (unl_mpi_rc_ != 0) ::unl::detail::throw_mpi(__FILE__, __LINE__, #call, unl_mpi_rc_); \
  } while (0)
/// Check an NCCL call; use where <nccl.h> is included.
#define UNL_NCCL_CHECK(call)                                                \
  do {                                                                      \
    ncclResult_t unl_nccl_rc_ = (call);                                     \
    if (unl_nccl_rc_ != ncclSuccess)                                        \
      ::unl::detail::throw_error(__FILE__, __LINE__,                        \
          std::string(#call " failed: ") + ncclGetErrorString(unl_nccl_rc_), \
          "check NCCL_DEBUG=INFO output; every rank must call the same collectives in the same order"); \
  } while (0)
/// Check a CUDA runtime call; use where <cuda_runtime.h> is included.
#define UNL_CUDA_CHECK(call)                                                \
  do {                                                                      \
    cudaError_t unl_cuda_rc_ = (call);                                      \
    if (unl_cuda_rc_ != cudaSuccess)                                        \
      ::unl::detail::throw_error(__FILE__, __LINE__,                        \
          std::string(#call " failed: ") + cudaGetErrorString(unl_cuda_rc_), \
          "check the GPU is visible (nvidia-smi, CUDA_VISIBLE_DEVICES) and not out of memory"); \
  } while (0)
