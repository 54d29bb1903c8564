// MPI lifetime and placement: RAII MPI_Init_thread/MPI_Finalize, and the node-local rank that
// picks the GPU (from MPI itself, cross-checked against the launcher's variables).
#pragma once

#include <string>

namespace unl::comm {

class MpiEnvironment {
 public:
  MpiEnvironment(int* argc, char*** argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;
  int world_rank() const { return rank_; }
  int world_size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

struct NodePlacement {
  int local_rank = 0;     // rank among processes on this node (MPI_COMM_TYPE_SHARED)
  int local_size = 1;
  std::string launcher_local_rank;  // OMPI_COMM_WORLD_LOCAL_RANK / SLURM_LOCALID / MPI_LOCALRANKID, "" if none
  bool consistent = true;           // launcher variable agrees with MPI
};

/// Node-local placement of this process (collective over MPI_COMM_WORLD).
NodePlacement node_placement();

}  // namespace unl::comm
