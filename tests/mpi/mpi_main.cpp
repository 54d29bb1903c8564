// Shared GoogleTest main for tests under mpiexec: MPI up before the tests, only rank 0 prints
// progress, and the pass/fail verdict is all-reduced so every rank exits with the same code.
#include <gtest/gtest.h>
#include <mpi.h>

#include "common/error.h"
#include "common/log.h"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  unl::set_current_rank(rank);
  unl::log::init(rank, size);
  ::testing::InitGoogleTest(&argc, argv);
  if (rank != 0) {
    // Failures on other ranks still print (gtest's failure listener writes them), but the
    // per-test progress lines come from rank 0 only.
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new ::testing::EmptyTestEventListener);
  }
  int local_failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (local_failed) fprintf(stderr, "rank %d: tests FAILED\n", rank);
  if (rank == 0) printf("%s on %d ranks\n", any_failed ? "FAILED" : "PASSED", size);
  MPI_Finalize();
  return any_failed;
}
