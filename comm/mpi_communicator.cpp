// MPI backend implementation: non-blocking collectives polled with back-off, so a stalled job
// turns into an error naming the missing ranks instead of a silent hang of the allocation.
#include "comm/mpi_communicator.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/log.h"

namespace unl::comm {
namespace {
constexpr int kStallTag = 7301;

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

MPI_Datatype mpi_datatype(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return MPI_FLOAT;
    case DType::kFloat64: return MPI_DOUBLE;
    case DType::kInt32: return MPI_INT32_T;
    case DType::kInt64: return MPI_INT64_T;
    case DType::kUInt8: return MPI_UINT8_T;
    default: break;
  }
  UNL_THROW("MPI cannot reduce " + dtype_name(dtype) + " buffers",
            "convert half-precision buffers to float32 before an MPI all-reduce "
            "(comm::GradientBucketer does this)");
}

MpiCommunicator::MpiCommunicator(MPI_Comm parent, double stall_timeout_s)
    : stall_timeout_s_(stall_timeout_s) {
  UNL_MPI_CHECK(MPI_Comm_dup(parent, &comm_));
  UNL_MPI_CHECK(MPI_Comm_dup(parent, &watchdog_comm_));
  // Errors come back as codes (thrown as unl::Error) instead of killing the job silently.
  UNL_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  UNL_MPI_CHECK(MPI_Comm_set_errhandler(watchdog_comm_, MPI_ERRORS_RETURN));
  UNL_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  UNL_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;  // too late to free; MPI_Finalize released them
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (watchdog_comm_ != MPI_COMM_NULL) MPI_Comm_free(&watchdog_comm_);
}

void MpiCommunicator::wait(MPI_Request* request, const char* what) {
  const int64_t seq = sequence_++;
  const double start = now_s();
  int done = 0;
  int spins = 0;
  while (true) {
    UNL_MPI_CHECK(MPI_Test(request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    // Spin briefly for latency, then back off so a waiting rank does not burn its core.
    if (++spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(std::min(spins, 20000) / 20));
    if (stall_timeout_s_ > 0 && now_s() - start > stall_timeout_s_) break;
  }
  // Stalled. Everyone who is stalled here reports its sequence number to rank 0; rank 0 waits a
  // grace period, then names the ranks that never reported (dead, hung, or elsewhere in the code).
  std::string missing;
  const double grace = std::min(10.0, std::max(1.0, stall_timeout_s_ / 10));
  if (rank_ != 0) {
    MPI_Request r;
    int64_t s = seq;
    MPI_Isend(&s, 1, MPI_INT64_T, 0, kStallTag, watchdog_comm_, &r);
    MPI_Request_free(&r);
    missing = "see rank 0's message for the ranks that never arrived";
    // Give rank 0 its grace period to collect reports and name the missing ranks first.
    std::this_thread::sleep_for(std::chrono::duration<double>(grace + 2.0));
  } else {
    std::set<int> reported = {0};
    const double grace_end = now_s() + grace;
    while (now_s() < grace_end && static_cast<int>(reported.size()) < size_) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kStallTag, watchdog_comm_, &flag, &st);
      if (flag) {
        int64_t s = 0;
        MPI_Recv(&s, 1, MPI_INT64_T, st.MPI_SOURCE, kStallTag, watchdog_comm_, MPI_STATUS_IGNORE);
        reported.insert(st.MPI_SOURCE);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    for (int r = 0; r < size_; ++r)
      if (!reported.count(r)) missing += (missing.empty() ? "" : ",") + std::to_string(r);
    missing = missing.empty() ? "all ranks are waiting (a collective mismatch)"
                              : "ranks " + missing + " never arrived";
  }
  UNL_THROW(std::string("collective #") + std::to_string(seq) + " (" + what + ") stalled for " +
                std::to_string(static_cast<int>(stall_timeout_s_)) + " s: " + missing,
            "a rank died, hung, or took a different code path; look at that rank's last messages. "
            "Raise runtime.stall_timeout_s if a step legitimately takes longer");
}

void MpiCommunicator::barrier() {
  MPI_Request req;
  UNL_MPI_CHECK(MPI_Ibarrier(comm_, &req));
  wait(&req, "barrier");
}

void MpiCommunicator::allreduce(void* data, size_t count, DType dtype, ReduceOp op) {
  if (size_ == 1) return;
  const MPI_Datatype type = mpi_datatype(dtype);
  // MPI counts are int: reduce very large buffers in slices.
  const size_t max_slice = static_cast<size_t>(INT_MAX) / 2;
  char* p = static_cast<char*>(data);
  size_t done = 0;
  do {
    const size_t n = std::min(count - done, max_slice);
    MPI_Request req;
    UNL_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, p + done * dtype_size(dtype), static_cast<int>(n),
                                 type, mpi_op(op), comm_, &req));
    wait(&req, "allreduce");
    done += n;
  } while (done < count);
}

namespace {
// Block collectives take int counts: one block beyond that is refused (buckets keep blocks small).
int block_count(size_t count, const char* what) {
  UNL_CHECK(count < static_cast<size_t>(INT_MAX),
            std::string(what) + " block of " + std::to_string(count) + " elements exceeds MPI's int count",
            "lower runtime.bucket_mb (sharded collectives move one bucket per call)");
  return static_cast<int>(count);
}
// A type that moves `dtype` unchanged: half types travel as 16-bit integers (no arithmetic).
MPI_Datatype mpi_bits_type(DType dtype) {
  if (dtype == DType::kBFloat16 || dtype == DType::kFloat16) return MPI_UINT16_T;
  return mpi_datatype(dtype);
}
}  // namespace

void MpiCommunicator::reduce_scatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) {
  if (count == 0) return;
  const int n = block_count(count, "reduce-scatter");
  if (size_ == 1) {
    if (send != recv) std::memmove(recv, send, count * dtype_size(dtype));
    return;
  }
  MPI_Request req;
  UNL_MPI_CHECK(MPI_Ireduce_scatter_block(send, recv, n, mpi_datatype(dtype), mpi_op(op), comm_, &req));
  wait(&req, "reduce-scatter");
}

void MpiCommunicator::allgather(const void* send, void* recv, size_t count, DType dtype) {
  if (count == 0) return;
  const int n = block_count(count, "all-gather");
  const size_t bytes = count * dtype_size(dtype);
  const bool in_place = send == static_cast<const char*>(recv) + static_cast<size_t>(rank_) * bytes;
  if (size_ == 1) {
    if (!in_place) std::memmove(recv, send, bytes);
    return;
  }
  const MPI_Datatype type = mpi_bits_type(dtype);
  MPI_Request req;
  UNL_MPI_CHECK(MPI_Iallgather(in_place ? MPI_IN_PLACE : send, n, type, recv, n, type, comm_, &req));
  wait(&req, "all-gather");
}

void MpiCommunicator::broadcast(std::vector<char>& bytes, int root) {
  UNL_CHECK(root >= 0 && root < size_, "broadcast root " + std::to_string(root) + " out of range", "");
  int64_t n = static_cast<int64_t>(bytes.size());
  MPI_Request req;
  UNL_MPI_CHECK(MPI_Ibcast(&n, 1, MPI_INT64_T, root, comm_, &req));
  wait(&req, "broadcast size");
  UNL_CHECK(n >= 0 && n < INT_MAX, "broadcast of " + std::to_string(n) + " bytes is too large",
            "this is a bug: plans and metrics should be far smaller");
  if (rank_ != root) bytes.resize(static_cast<size_t>(n));
  if (n == 0) return;
  UNL_MPI_CHECK(MPI_Ibcast(bytes.data(), static_cast<int>(n), MPI_CHAR, root, comm_, &req));
  wait(&req, "broadcast");
}

std::vector<std::vector<char>> MpiCommunicator::gatherv(const std::vector<char>& mine, int root) {
  UNL_CHECK(root >= 0 && root < size_, "gather root " + std::to_string(root) + " out of range", "");
  UNL_CHECK(mine.size() < static_cast<size_t>(INT_MAX), "gather contribution too large", "");
  int n = static_cast<int>(mine.size());
  std::vector<int> counts(rank_ == root ? size_ : 0);
  MPI_Request req;
  UNL_MPI_CHECK(MPI_Igather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_, &req));
  wait(&req, "gather sizes");
  std::vector<int> displs;
  std::vector<char> all;
  if (rank_ == root) {
    displs.resize(size_);
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[r] = static_cast<int>(total);
      total += counts[r];
    }
    UNL_CHECK(total < INT_MAX, "gathered metrics exceed 2 GiB", "evaluate fewer samples at once");
    all.resize(static_cast<size_t>(total));
  }
  // A non-null buffer even for empty contributions: some MPIs reject null pointers.
  char dummy = 0;
  UNL_MPI_CHECK(MPI_Igatherv(n ? mine.data() : &dummy, n, MPI_CHAR, all.empty() ? &dummy : all.data(),
                             counts.data(), displs.data(), MPI_CHAR, root, comm_, &req));
  wait(&req, "gatherv");
  std::vector<std::vector<char>> out;
  if (rank_ == root) {
    out.resize(size_);
    for (int r = 0; r < size_; ++r)
      out[r].assign(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
  }
  return out;
}

void MpiCommunicator::abort(int code) noexcept {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace unl::comm
