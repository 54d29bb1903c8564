// Collation of token rows into padded id / mask tensors, forget <-> neighbour pairing,
// portable seeded splits, and the data set hash.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/hash.h"
#include "data/data.h"

namespace unl::data {
namespace {

// splitmix64 (Vigna): fixed arithmetic, so a seed gives the same split on every platform,
// unlike std::shuffle whose algorithm the standard leaves to the library.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by rejection: no modulo bias.
  uint64_t below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (true) {
      const uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }
};

}  // namespace

Collated collate(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad_id, bool left_pad, int64_t pad_to,
                 const std::vector<int64_t>& prompt_lens) {
  UNL_CHECK(prompt_lens.empty() || prompt_lens.size() == rows.size(),
            std::to_string(prompt_lens.size()) + " prompt lengths for " + std::to_string(rows.size()) + " rows",
            "this is a bug in the caller: give one prompt length per row (or none)");
  int64_t len = std::max<int64_t>(pad_to, 0);
  for (const auto* r : rows) len = std::max<int64_t>(len, static_cast<int64_t>(r->size()));
  const int64_t b = static_cast<int64_t>(rows.size());
  Collated c{torch::full({b, len}, pad_id, torch::kInt64), torch::zeros({b, len}, torch::kInt64)};
  auto ids = c.ids.accessor<int64_t, 2>();
  auto mask = c.mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& r = *rows[i];
    const int64_t off = left_pad ? len - static_cast<int64_t>(r.size()) : 0;
    const int64_t prompt = prompt_lens.empty() ? 0 : prompt_lens[i];
    for (size_t t = 0; t < r.size(); ++t) {
      ids[i][off + static_cast<int64_t>(t)] = r[t];
      mask[i][off + static_cast<int64_t>(t)] = static_cast<int64_t>(t) < prompt ? kMaskPrompt : kMaskToken;
    }
  }
  return c;
}

Collated collate(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, bool left_pad, int64_t pad_to,
                 const std::vector<int64_t>& prompt_lens) {
  std::vector<const std::vector<int64_t>*> ptrs;
  ptrs.reserve(rows.size());
  for (const auto& r : rows) ptrs.push_back(&r);
  return collate(ptrs, pad_id, left_pad, pad_to, prompt_lens);
}

std::vector<Pair> make_pairs(const std::vector<Sample>& forget, const std::vector<int64_t>& neighbour_rows,
                             const std::vector<Sample>& pool) {
  UNL_CHECK(neighbour_rows.empty() || neighbour_rows.size() == forget.size(),
            std::to_string(neighbour_rows.size()) + " neighbour rows for " + std::to_string(forget.size()) +
                " forget samples",
            "this is a bug in the caller: give one pool row per forget sample (or none)");
  std::vector<Pair> pairs(forget.size());
  for (size_t i = 0; i < forget.size(); ++i) {
    pairs[i].forget_index = static_cast<int64_t>(i);
    pairs[i].forget_id = forget[i].id;
    if (neighbour_rows.empty()) continue;
    const int64_t row = neighbour_rows[i];
    UNL_CHECK(row >= -1 && row < static_cast<int64_t>(pool.size()),
              "forget sample id " + std::to_string(forget[i].id) + ": neighbour row " + std::to_string(row) +
                  " outside the pool of " + std::to_string(pool.size()) + " rows",
              "this is a bug in neighbour mining, or the pool changed since the neighbours were saved");
    UNL_CHECK(row < 0 || pool[row].tokens != forget[i].tokens,
              "forget sample id " + std::to_string(forget[i].id) + " is its own neighbour: pool row " +
                  std::to_string(row) + " (id " + std::to_string(pool[row].id) + ") holds the same tokens",
              "remove the forget sequences from the retained pool; ICU would learn what it should forget");
    pairs[i].neighbour_row = row;
  }
  return pairs;
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  UNL_CHECK(n >= 0, "cannot permute " + std::to_string(n) + " items", "this is a bug in the caller");
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  SplitMix64 rng{seed};
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng.below(static_cast<uint64_t>(i) + 1)]);
  return p;
}

std::pair<std::vector<Sample>, std::vector<Sample>> split_heldout(const std::vector<Sample>& samples, int64_t count,
                                                                 uint64_t seed) {
  UNL_CHECK(count >= 0 && count <= static_cast<int64_t>(samples.size()),
            "cannot hold out " + std::to_string(count) + " of " + std::to_string(samples.size()) + " samples",
            "choose a held-out count between 0 and the data set's size");
  const auto perm = seeded_permutation(static_cast<int64_t>(samples.size()), seed);
  std::vector<char> held(samples.size(), 0);
  for (int64_t i = 0; i < count; ++i) held[perm[i]] = 1;
  std::pair<std::vector<Sample>, std::vector<Sample>> out;
  for (size_t i = 0; i < samples.size(); ++i) (held[i] ? out.second : out.first).push_back(samples[i]);
  return out;
}

std::pair<std::vector<Sample>, std::vector<Sample>> split_heldout_fraction(const std::vector<Sample>& samples,
                                                                          double fraction, uint64_t seed) {
  UNL_CHECK(fraction >= 0.0 && fraction <= 1.0, "held-out fraction " + std::to_string(fraction) + " outside [0, 1]",
            "give a fraction such as 0.1");
  const auto count = static_cast<int64_t>(std::llround(fraction * static_cast<double>(samples.size())));
  return split_heldout(samples, count, seed);
}

std::string dataset_hash(const std::vector<Sample>& samples) {
  Hasher h;
  for (const auto& s : samples) {
    h.update(&s.id, sizeof s.id);
    // Length prefix: [1,2][3] and [1][2,3] must differ. A sample with a prompt flags it in bit 62
    // of the length (never set in a real length) and adds the prompt length, so text sets keep
    // their hashes and no text set hashes like a prompt/response set.
    const int64_t n = static_cast<int64_t>(s.tokens.size()) | (s.prompt_len > 0 ? int64_t{1} << 62 : 0);
    h.update(&n, sizeof n);
    if (s.prompt_len > 0) h.update(&s.prompt_len, sizeof s.prompt_len);
    h.update(s.tokens.data(), s.tokens.size() * sizeof(int64_t));
  }
  return hex64(h.digest());
}

}  // namespace unl::data
