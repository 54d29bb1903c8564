// MPI start-up/shut-down and node-local placement.
#include "comm/mpi_env.h"

#include <mpi.h>

#include <cstdlib>

#include "common/error.h"
#include "common/log.h"

namespace unl::comm {

MpiEnvironment::MpiEnvironment(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // FUNNELED: only the main thread calls MPI (LibTorch's worker threads never do).
    UNL_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  set_current_rank(rank_);
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

NodePlacement node_placement() {
  NodePlacement p;
  MPI_Comm node = MPI_COMM_NULL;
  UNL_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  MPI_Comm_rank(node, &p.local_rank);
  MPI_Comm_size(node, &p.local_size);
  MPI_Comm_free(&node);
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID",
                          "PMI_LOCAL_RANK"}) {
    if (const char* v = std::getenv(var); v && *v) {
      p.launcher_local_rank = v;
      p.consistent = std::atoi(v) == p.local_rank;
      if (!p.consistent)
        log::warn("{}={} but MPI places this process at local rank {}; using MPI's value", var, v,
                  p.local_rank);
      break;
    }
  }
  return p;
}

}  // namespace unl::comm
