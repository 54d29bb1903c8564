// unl::Error formatting and the out-of-line throw helpers behind the check macros.
#include "common/error.h"

#include <mpi.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace unl {
namespace {
std::atomic<int> g_rank{-1};

const char* basename_of(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

std::string compose(const std::string& what, const std::string& hint, const char* file, int line) {
  std::string s = "rank " + std::to_string(current_rank()) + " (" + basename_of(file) + ":" +
                  std::to_string(line) + "): " + what;
  if (!hint.empty()) s += ". HINT: " + hint;
  return s;
}
}  // namespace

int current_rank() { return g_rank.load(); }
void set_current_rank(int rank) { g_rank.store(rank); }

Error::Error(const std::string& what, const std::string& hint, const char* file, int line)
    : std::runtime_error(compose(what, hint, file, line)), description_(what), hint_(hint) {}

namespace detail {
void throw_error(const char* file, int line, const std::string& what, const std::string& hint) {
  throw Error(what, hint, file, line);
}
void throw_usage(const char* file, int line, const std::string& what, const std::string& hint) {
  throw UsageError(what, hint, file, line);
}
void throw_mpi(const char* file, int line, const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  // MPI_Error_string is only legal between MPI_Init and MPI_Finalize.
  if (!initialized || finalized || MPI_Error_string(code, text, &len) != MPI_SUCCESS)
    std::snprintf(text, sizeof text, "MPI error code %d", code);
  throw Error(std::string(call) + " failed: " + text,
              "a peer rank may have died or the job was launched inconsistently; "
              "check the other ranks' messages above",
              file, line);
}
}  // namespace detail
}  // namespace unl
