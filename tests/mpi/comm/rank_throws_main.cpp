// A 3-rank job where rank 1 fails: `throw` raises unl::Error before a collective the others are
// already in; `stall` sleeps past the stall watchdog's timeout. main catches and aborts the job,
// exactly as build/bin/unlearn does.
#include <chrono>
#include <cstring>
#include <thread>

#include "comm/communicator.h"
#include "comm/mpi_env.h"
#include "common/error.h"
#include "common/log.h"

int main(int argc, char** argv) {
  unl::comm::MpiEnvironment env(&argc, &argv);
  unl::log::init(env.world_rank(), env.world_size());
  const bool stall = argc > 1 && std::strcmp(argv[1], "stall") == 0;
  unl::comm::CommOptions options;
  options.backend = "mpi";
  options.stall_timeout_s = 3;
  auto comm = unl::comm::make_communicator(options);
  try {
    comm->barrier();
    if (comm->rank() == 1) {
      if (stall) std::this_thread::sleep_for(std::chrono::seconds(60));
      UNL_THROW("injected failure on rank 1", "this is the test's doing");
    }
    comm->barrier();  // ranks 0 and 2 wait here for rank 1
    return 0;
  } catch (const std::exception& e) {
    unl::log::error_any_rank(e.what());
    comm->abort(1);
  }
}
