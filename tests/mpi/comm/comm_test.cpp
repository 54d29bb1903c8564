// Real collectives under mpiexec: every rank builds its own expected result (nccl-tests style)
// and the verdict is agreed across ranks by the shared main.
#include <gtest/gtest.h>
#include <mpi.h>

#include <map>
#include <numeric>

#include "comm/communicator.h"
#include "comm/messages.h"
#include "comm/tensor_ops.h"
#include "common/error.h"
#include "shard/flat_layout.h"

namespace {

using unl::comm::Communicator;

std::unique_ptr<Communicator> mpi_comm() {
  unl::comm::CommOptions o;
  o.backend = "mpi";
  o.stall_timeout_s = 60;
  return unl::comm::make_communicator(o);
}

// The value rank r contributes at element i, so every rank can compute the expected sum alone.
double contribution(int r, int64_t i) { return (r + 1) * 0.5 + static_cast<double>(i % 97) * (r + 2); }

TEST(MpiComm, RankAndSizeMatchWorld) {
  auto comm = mpi_comm();
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(comm->rank(), rank);
  EXPECT_EQ(comm->size(), size);
  EXPECT_EQ(comm->backend(), "mpi");
  comm->barrier();
}

TEST(MpiComm, ScalarReductions) {
  auto comm = mpi_comm();
  const int n = comm->size(), r = comm->rank();
  EXPECT_EQ(comm->allreduce_sum(static_cast<int64_t>(r + 1)), n * (n + 1) / 2);
  EXPECT_DOUBLE_EQ(comm->allreduce_sum(0.25 * r), 0.25 * n * (n - 1) / 2);
  EXPECT_EQ(comm->allreduce_max(static_cast<int64_t>(10 * r)), 10 * (n - 1));
  EXPECT_TRUE(comm->any(r == n - 1));
  EXPECT_FALSE(comm->any(false));
}

TEST(MpiComm, TensorAllReduceAllDtypes) {
  auto comm = mpi_comm();
  const int n = comm->size(), r = comm->rank();
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kInt32, torch::kBFloat16}) {
    auto t = torch::full({5, 3}, r + 1, torch::TensorOptions().dtype(dtype));
    unl::comm::allreduce_tensor(*comm, t);
    auto expected = torch::full({5, 3}, n * (n + 1) / 2, torch::TensorOptions().dtype(dtype));
    EXPECT_TRUE(torch::equal(t, expected)) << c10::toString(dtype);
  }
  auto mx = torch::tensor({static_cast<double>(r), -static_cast<double>(r)});
  unl::comm::allreduce_tensor(*comm, mx, unl::comm::ReduceOp::kMax);
  EXPECT_DOUBLE_EQ(mx[0].item<double>(), n - 1);
  EXPECT_DOUBLE_EQ(mx[1].item<double>(), 0);
}

TEST(MpiComm, BucketedEqualsPerTensorForOddSizesAndMixedDtypes) {
  auto comm = mpi_comm();
  const int n = comm->size(), r = comm->rank();
  std::vector<std::vector<int64_t>> shapes = {{7}, {3, 5}, {1}, {13, 1, 3}, {0}, {1001}, {2, 2}};
  std::vector<torch::Dtype> dtypes = {torch::kFloat32, torch::kFloat64, torch::kFloat32,
                                      torch::kBFloat16, torch::kFloat32, torch::kFloat32, torch::kFloat64};
  auto make = [&](int rank) {
    std::vector<torch::Tensor> ts;
    for (size_t k = 0; k < shapes.size(); ++k) {
      auto t = torch::arange(0, torch::empty(shapes[k]).numel(), torch::kFloat64).reshape(shapes[k]);
      t = (t.fmod(97) * (rank + 2) + (rank + 1) * 0.5 + static_cast<double>(k)).to(dtypes[k]);
      ts.push_back(t);
    }
    return ts;
  };
  // Expected: computed locally from every rank's contribution, in float64.
  std::vector<torch::Tensor> expected;
  for (size_t k = 0; k < shapes.size(); ++k) {
    auto sum = torch::zeros(shapes[k], torch::kFloat64);
    for (int q = 0; q < n; ++q) sum += make(q)[k].to(torch::kFloat64);
    expected.push_back(sum);
  }
  for (int64_t bucket_bytes : {int64_t(16), int64_t(100), int64_t(1) << 20}) {
    auto bucketed = make(r);
    unl::comm::GradientBucketer bucketer(bucketed, bucket_bytes);
    bucketer.allreduce(*comm);
    auto per_tensor = make(r);
    for (auto& t : per_tensor) unl::comm::allreduce_tensor(*comm, t);
    for (size_t k = 0; k < shapes.size(); ++k) {
      EXPECT_TRUE(torch::equal(bucketed[k], per_tensor[k])) << "tensor " << k << " bucket " << bucket_bytes;
      const double tol = dtypes[k] == torch::kBFloat16 ? 0.02 : 1e-6;
      EXPECT_TRUE(torch::allclose(bucketed[k].to(torch::kFloat64), expected[k], tol, tol)) << k;
    }
    if (bucket_bytes == 16) {
      EXPECT_GE(bucketer.num_buckets(), 5);
    }
    if (bucket_bytes == (int64_t(1) << 20)) {
      EXPECT_EQ(bucketer.num_buckets(), 3);  // one per dtype: float32, float64, bfloat16
    }
  }
  // Scaling and a second call with freshly allocated tensors of the same layout.
  auto first = make(r);
  unl::comm::GradientBucketer bucketer(first, 64);
  auto second = make(r);
  bucketer.allreduce(*comm, second, 0.5);
  EXPECT_TRUE(torch::allclose(second[0].to(torch::kFloat64), expected[0] * 0.5));
  EXPECT_TRUE(torch::equal(first[0], make(r)[0]));  // untouched
}

// nccl-tests style: sizes that do not divide by the world size, padded by the flat layout; each
// rank computes the expected block from every rank's contribution itself.
TEST(MpiComm, ReduceScatterAndAllGatherOverPaddedLayouts) {
  auto comm = mpi_comm();
  const int n = comm->size(), r = comm->rank();
  for (int64_t size : {int64_t(1), int64_t(7), int64_t(1000003)}) {
    const unl::shard::FlatLayout layout({size});
    const int64_t s = layout.shard_size(n);
    auto make = [&](int rank, torch::Dtype dtype) {
      auto idx = torch::arange(0, s * n, torch::kInt64);
      auto t = ((idx.fmod(97) * (rank + 2)).to(torch::kFloat64) + (rank + 1) * 0.5);
      return t.masked_fill(idx >= size, 0.0).to(dtype);
    };
    for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kBFloat16}) {
      const bool integral = dtype == torch::kInt64;
      auto full = integral ? (make(r, torch::kFloat64) * 2).to(dtype) : make(r, dtype);
      auto shard = torch::empty({s}, full.options());
      unl::comm::reduce_scatter_tensor(*comm, full, shard);
      // Expected block r of the sum, from every rank's contribution.
      auto [b, e] = layout.shard_range(n, r);
      torch::Tensor expected = torch::zeros({s}, torch::kFloat64);
      for (int q = 0; q < n; ++q) {
        auto part = integral ? (make(q, torch::kFloat64) * 2).to(dtype) : make(q, dtype);
        expected += part.narrow(0, b, s).to(torch::kFloat64);
      }
      const double tol = dtype == torch::kBFloat16 ? 0.02 : 1e-6;
      EXPECT_TRUE(torch::allclose(shard.to(torch::kFloat64), expected, tol, tol))
          << c10::toString(dtype) << " size " << size << " rank " << r;
      // All-gather the blocks back: every rank holds every rank's block, bit for bit.
      auto gathered = torch::empty({s * n}, full.options());
      unl::comm::allgather_tensor(*comm, shard, gathered);
      for (int q = 0; q < n; ++q) {
        auto [qb, qe] = layout.shard_range(n, q);
        torch::Tensor expect_q = torch::zeros({s}, torch::kFloat64);
        for (int z = 0; z < n; ++z) {
          auto part = integral ? (make(z, torch::kFloat64) * 2).to(dtype) : make(z, dtype);
          expect_q += part.narrow(0, qb, s).to(torch::kFloat64);
        }
        EXPECT_TRUE(torch::allclose(gathered.narrow(0, qb, s).to(torch::kFloat64), expect_q, tol, tol))
            << c10::toString(dtype) << " size " << size << " block " << q;
      }
      // In place: this rank's block already sits in the full buffer.
      auto in_place = torch::zeros({s * n}, full.options());
      in_place.narrow(0, b, s).copy_(shard);
      auto view = in_place.narrow(0, b, s);
      unl::comm::allgather_tensor(*comm, view, in_place);
      EXPECT_TRUE(torch::equal(in_place, gathered)) << c10::toString(dtype) << " size " << size;
    }
  }
  // Max over ranks, scattered.
  auto full = torch::arange(0, 64 * n, torch::kFloat32) * (r + 1);
  auto shard = torch::empty({64}, torch::kFloat32);
  unl::comm::reduce_scatter_tensor(*comm, full, shard, unl::comm::ReduceOp::kMax);
  EXPECT_TRUE(torch::equal(shard, torch::arange(64 * r, 64 * (r + 1), torch::kFloat32) * n));
  // A full buffer that is not world x shard is refused, not silently truncated.
  auto bad = torch::zeros({64 * n + 1});
  EXPECT_THROW(unl::comm::reduce_scatter_tensor(*comm, bad, shard), unl::Error);
}

TEST(MpiComm, BroadcastBytesAndObjects) {
  auto comm = mpi_comm();
  for (int root = 0; root < comm->size(); ++root) {
    std::vector<char> bytes;
    if (comm->rank() == root) bytes.assign(1000 + root, static_cast<char>('a' + root));
    comm->broadcast(bytes, root);
    EXPECT_EQ(bytes, std::vector<char>(1000 + root, static_cast<char>('a' + root)));
  }
  std::vector<char> empty;
  comm->broadcast(empty, 0);
  EXPECT_TRUE(empty.empty());
  std::map<std::string, std::vector<int64_t>> plan;
  if (comm->rank() == 0) plan = {{"batch0", {3, 1, 4}}, {"batch1", {}}, {"batch2", {1, 5}}};
  unl::comm::broadcast_object(*comm, plan);
  EXPECT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan["batch0"], (std::vector<int64_t>{3, 1, 4}));
  EXPECT_TRUE(plan["batch1"].empty());
}

TEST(MpiComm, GathervWithEmptyContributions) {
  auto comm = mpi_comm();
  const int n = comm->size(), r = comm->rank();
  // Odd ranks contribute nothing; even ranks r contribute r+1 bytes of value r.
  std::vector<char> mine;
  if (r % 2 == 0) mine.assign(r + 1, static_cast<char>(r));
  for (int root : {0, n - 1}) {
    auto all = comm->gatherv(mine, root);
    if (r == root) {
      ASSERT_EQ(static_cast<int>(all.size()), n);
      for (int q = 0; q < n; ++q) {
        if (q % 2) {
          EXPECT_TRUE(all[q].empty());
        } else {
          EXPECT_EQ(all[q], std::vector<char>(q + 1, static_cast<char>(q)));
        }
      }
    } else {
      EXPECT_TRUE(all.empty());
    }
  }
  // Everyone empty.
  auto none = comm->gatherv({}, 0);
  if (r == 0) {
    for (auto& b : none) EXPECT_TRUE(b.empty());
  }
  // Structured: per-sample metrics as pairs.
  std::vector<std::pair<int64_t, double>> metrics;
  for (int i = 0; i < r; ++i) metrics.push_back({r * 100 + i, contribution(r, i)});
  auto gathered = unl::comm::gather_objects(*comm, metrics);
  if (r == 0) {
    ASSERT_EQ(static_cast<int>(gathered.size()), n);
    for (int q = 0; q < n; ++q) {
      ASSERT_EQ(static_cast<int>(gathered[q].size()), q);
      for (int i = 0; i < q; ++i) EXPECT_DOUBLE_EQ(gathered[q][i].second, contribution(q, i));
    }
  }
}

TEST(MpiComm, BadRootIsAnError) {
  auto comm = mpi_comm();
  std::vector<char> b;
  EXPECT_THROW(comm->broadcast(b, comm->size()), unl::Error);
}

}  // namespace
