// Distributed exact top-1 neighbour search over the retained pool.
#include "driver/neighbours.h"

#include <numeric>

#include "comm/messages.h"
#include "common/common.h"
#include "shard/shard.h"
#include "unlearn/neighbours.h"

namespace unl::driver {
namespace {

// This rank's candidates: its slice of the pool against every forget sample.
std::vector<unlearn::Candidate> local_candidates(Job& job, const torch::Tensor& queries) {
  const NeighboursConfig& nc = job.cfg.neighbours;
  const int64_t span_e = nc.span_end < 0 ? INT64_MAX / 2 : nc.span_end;
  const auto& pool = job.in.pool.tokens;
  auto [pb, pe] = shard::block_range(static_cast<int64_t>(pool.size()), job.comm.size(), job.comm.rank());
  if (pb == pe) return {};
  std::vector<std::vector<int64_t>> slice(pool.begin() + pb, pool.begin() + pe);
  std::vector<int64_t> slice_ids(pe - pb);
  std::iota(slice_ids.begin(), slice_ids.end(), pb);
  auto keys = unlearn::embed_sequences(*job.models.reference, slice, nc.span_begin, span_e, nc.batch_size,
                                       job.models.pad_id);
  return unlearn::local_topk(queries, keys, slice_ids, 1, unlearn::parse_distance(nc.distance));
}

}  // namespace

std::vector<int64_t> mine_neighbours(Job& job) {
  const int64_t n = static_cast<int64_t>(job.in.forget.size());
  if (!job.trainer->method().needs_neighbours()) return std::vector<int64_t>(n, -1);
  UNL_CHECK(job.in.pool.size() > 0, "the retained pool '" + job.in.pool.path + "' is empty",
            "icu and graddiff need neighbour rows; give data.retain a non-empty file");
  const double t0 = now_s();
  const NeighboursConfig& nc = job.cfg.neighbours;
  const int64_t span_e = nc.span_end < 0 ? INT64_MAX / 2 : nc.span_end;
  // Every rank embeds the (small) forget set, and its own slice of the (large) pool.
  auto queries = unlearn::embed_sequences(*job.models.reference, job.in.forget.tokens, nc.span_begin, span_e,
                                          nc.batch_size, job.models.pad_id);
  std::vector<std::pair<std::pair<int64_t, int64_t>, double>> packed;
  for (const auto& c : local_candidates(job, queries)) packed.push_back({{c.query, c.pool_id}, c.distance});
  auto gathered = comm::gather_objects(job.comm, packed);
  std::vector<int64_t> best(n, -1);
  if (job.root()) {
    std::vector<unlearn::Candidate> all;
    for (const auto& part : gathered)
      for (const auto& [qp, d] : part) all.push_back({qp.first, qp.second, d});
    auto merged = unlearn::merge_topk(all, n, 1);
    for (int64_t i = 0; i < n; ++i) best[i] = merged[i].empty() ? -1 : merged[i][0];
  }
  comm::broadcast_object(job.comm, best);
  log::info("neighbours: paired {} forget samples with their nearest of {} pool rows ({}) in {:.1f} s", n,
            job.in.pool.size(), nc.distance, now_s() - t0);
  return best;
}

}  // namespace unl::driver
