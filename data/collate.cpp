// Collation of token rows into padded id / mask tensors, and deterministic held-out splits.
#include <algorithm>

#include "common/error.h"
#include "data/data.h"
#include "shard/shard.h"

namespace unl::data {

Collated collate(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad_id, bool left_pad, int64_t pad_to) {
  int64_t len = std::max<int64_t>(pad_to, 0);
  for (const auto* r : rows) len = std::max<int64_t>(len, static_cast<int64_t>(r->size()));
  const int64_t b = static_cast<int64_t>(rows.size());
  Collated c{torch::full({b, len}, pad_id, torch::kInt64), torch::zeros({b, len}, torch::kInt64)};
  auto ids = c.ids.accessor<int64_t, 2>();
  auto mask = c.mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& r = *rows[i];
    const int64_t off = left_pad ? len - static_cast<int64_t>(r.size()) : 0;
    for (size_t t = 0; t < r.size(); ++t) {
      ids[i][off + static_cast<int64_t>(t)] = r[t];
      mask[i][off + static_cast<int64_t>(t)] = 1;
    }
  }
  return c;
}

Collated collate(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, bool left_pad, int64_t pad_to) {
  std::vector<const std::vector<int64_t>*> ptrs;
  for (const auto& r : rows) ptrs.push_back(&r);
  return collate(ptrs, pad_id, left_pad, pad_to);
}

std::pair<std::vector<Sample>, std::vector<Sample>> split_heldout(const std::vector<Sample>& samples, int64_t count,
                                                                 uint64_t seed) {
  UNL_CHECK(count >= 0 && count <= static_cast<int64_t>(samples.size()),
            "cannot hold out " + std::to_string(count) + " of " + std::to_string(samples.size()) + " samples", "");
  std::vector<int64_t> idx(samples.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
  idx = shard::permute_ids(idx, seed, 0);
  std::vector<char> held(samples.size(), 0);
  for (int64_t i = 0; i < count; ++i) held[idx[i]] = 1;
  std::pair<std::vector<Sample>, std::vector<Sample>> out;
  for (size_t i = 0; i < samples.size(); ++i) (held[i] ? out.second : out.first).push_back(samples[i]);
  return out;
}

}  // namespace unl::data
