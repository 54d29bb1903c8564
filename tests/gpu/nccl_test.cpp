// NCCL backend under mpiexec, one GPU per rank (device = local rank % visible devices, selected
// by the communicator before any NCCL call): device all-reduces equal the exact sums, maxima and
// minima for sizes that do not divide evenly by the rank count, reduce-scatter and all-gather
// move exact blocks, and host buffers still go through MPI. Skips (on every rank)
// when there are fewer devices than ranks. Values are small integers, exact in every dtype used.
#include <cuda_runtime.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include "comm/mpi_env.h"
#include "comm/nccl_communicator.h"

namespace unl::comm {
namespace {

class Nccl : public ::testing::Test {
 protected:
  void SetUp() override {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
    int fewest = devices;
    MPI_Allreduce(&devices, &fewest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (fewest < size_) GTEST_SKIP() << "NCCL needs one GPU per rank: " << fewest << " visible, " << size_ << " ranks";
    ASSERT_EQ(cudaSetDevice(rank_ % devices), cudaSuccess);
    comm_ = std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, 60.0);
  }
  int rank_ = 0, size_ = 1;
  std::unique_ptr<NcclCommunicator> comm_;
};

TEST_F(Nccl, DeviceAllReduceSumMaxMinAreExact) {
  for (int64_t n : {1, 7, 1000003}) {
    auto idx = torch::arange(n, torch::kDouble);
    auto mine = (torch::fmod(idx, 13) + rank_).to(torch::kFloat).cuda();
    auto sum = mine.clone(), mx = mine.clone(), mn = mine.clone();
    comm_->allreduce(sum.data_ptr(), n, DType::kFloat32, ReduceOp::kSum);
    comm_->allreduce(mx.data_ptr(), n, DType::kFloat32, ReduceOp::kMax);
    comm_->allreduce(mn.data_ptr(), n, DType::kFloat32, ReduceOp::kMin);
    const double ranks_sum = size_ * (size_ - 1) / 2.0;
    auto base = torch::fmod(idx, 13);
    EXPECT_TRUE(torch::equal(sum.cpu().to(torch::kDouble), base * size_ + ranks_sum)) << "sum, n=" << n;
    EXPECT_TRUE(torch::equal(mx.cpu().to(torch::kDouble), base + (size_ - 1))) << "max, n=" << n;
    EXPECT_TRUE(torch::equal(mn.cpu().to(torch::kDouble), base)) << "min, n=" << n;
  }
}

TEST_F(Nccl, DeviceAllReduceInt64AndFloat64) {
  auto i = torch::full({5}, rank_ + 1, torch::kLong).cuda();
  comm_->allreduce(i.data_ptr(), 5, DType::kInt64, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(i.cpu(), torch::full({5}, size_ * (size_ + 1) / 2, torch::kLong)));
  auto d = torch::full({3}, 0.5 * (rank_ + 1), torch::kDouble).cuda();
  comm_->allreduce(d.data_ptr(), 3, DType::kFloat64, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(d.cpu(), torch::full({3}, 0.25 * size_ * (size_ + 1), torch::kDouble)));
}

// The communicator picks the GPU itself (node-local rank modulo the visible devices), so ranks of
// one node never share device 0 by accident.
TEST_F(Nccl, SelectsTheDeviceOfTheLocalRank) {
  int devices = 0, current = -1;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, node_placement().local_rank % devices);
}

// Reduce-scatter and all-gather in equal blocks on the device, for sizes padded by the caller:
// block r of the sum lands on rank r, and the gather returns every block in rank order.
TEST_F(Nccl, DeviceReduceScatterAndAllGatherAreExact) {
  for (int64_t block : {1, 7, 333334}) {
    const int64_t n = block * size_;
    auto idx = torch::arange(n, torch::kDouble);
    for (auto dtype : {torch::kFloat, torch::kBFloat16, torch::kLong}) {
      auto mine = (torch::fmod(idx, 13) + rank_).to(dtype).cuda();
      auto out = torch::empty({block}, mine.options());
      comm_->reduce_scatter(mine.data_ptr(), out.data_ptr(), block, dtype == torch::kFloat ? DType::kFloat32
                                                                     : dtype == torch::kLong ? DType::kInt64
                                                                                             : DType::kBFloat16,
                            ReduceOp::kSum);
      auto base = torch::fmod(idx.narrow(0, rank_ * block, block), 13);
      EXPECT_TRUE(torch::equal(out.cpu().to(torch::kDouble), base * size_ + size_ * (size_ - 1) / 2.0))
          << c10::toString(dtype) << " block " << block;
      auto all = torch::empty({n}, mine.options());
      comm_->allgather(out.data_ptr(), all.data_ptr(), block, dtype == torch::kFloat ? DType::kFloat32
                                                               : dtype == torch::kLong ? DType::kInt64
                                                                                       : DType::kBFloat16);
      EXPECT_TRUE(torch::equal(all.cpu().to(torch::kDouble), torch::fmod(idx, 13) * size_ + size_ * (size_ - 1) / 2.0))
          << c10::toString(dtype) << " block " << block;
    }
  }
}

TEST_F(Nccl, HostBuffersGoThroughMpi) {
  std::vector<float> host(9, static_cast<float>(rank_));
  comm_->allreduce(host.data(), host.size(), DType::kFloat32, ReduceOp::kSum);
  for (float v : host) EXPECT_EQ(v, size_ * (size_ - 1) / 2.0f);
  std::vector<char> bytes;
  if (rank_ == 0) bytes = {'o', 'k'};
  comm_->broadcast(bytes, 0);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "ok");
}

}  // namespace
}  // namespace unl::comm
