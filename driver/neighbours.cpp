// Neighbours: mined (distributed exact top-1 over the retained pool, copies of forget rows
// excluded by content) or read from a file of precomputed pairs.
#include "driver/neighbours.h"

#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <numeric>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "comm/messages.h"
#include "common/common.h"
#include "common/hash.h"
#include "data/data.h"
#include "shard/shard.h"
#include "unlearn/bert_encoder.h"
#include "unlearn/neighbours.h"
#include "unlearn/sentence_embedding.h"

namespace unl::driver {
namespace {

uint64_t row_hash(const std::vector<int64_t>& row) {
  Hasher h;
  h.update(row.data(), row.size() * sizeof(int64_t));
  return h.digest();
}

// The pool rows whose tokens equal some forget row's: never candidates (a sample paired with its
// own copy would have ascent and descent cancel). Compared by content, so copies under other ids
// are excluded too.
std::vector<bool> copies_of_forget_rows(const TokenSet& forget, const TokenSet& pool, int64_t begin, int64_t end) {
  std::unordered_multimap<uint64_t, size_t> by_hash;
  for (size_t i = 0; i < forget.tokens.size(); ++i) by_hash.emplace(row_hash(forget.tokens[i]), i);
  std::vector<bool> copy(end - begin, false);
  for (int64_t r = begin; r < end; ++r) {
    auto [lo, hi] = by_hash.equal_range(row_hash(pool.tokens[r]));
    for (auto it = lo; it != hi && !copy[r - begin]; ++it) copy[r - begin] = forget.tokens[it->second] == pool.tokens[r];
  }
  return copy;
}

using EmbedFn = std::function<torch::Tensor(const std::vector<std::vector<int64_t>>&)>;

// What embeds a row for mining (neighbours.embedder): the frozen model's mean hidden state over
// the span, or a sentence embedder over the span's decoded text (the official code: MiniLM over
// tokens [100, 200)).
EmbedFn make_embedder(Job& job) {
  const NeighboursConfig& nc = job.cfg.neighbours;
  const int64_t span_b = nc.span_begin, span_e = nc.span_end < 0 ? INT64_MAX / 2 : nc.span_end;
  if (nc.embedder == "model")
    return [&job, span_b, span_e, &nc](const std::vector<std::vector<int64_t>>& rows) {
      return unlearn::embed_sequences(*job.models.reference, rows, span_b, span_e, nc.batch_size, job.models.pad_id);
    };
  auto encoder = std::make_shared<unlearn::BertEncoder>(unlearn::load_bert_encoder(nc.embedder_model, torch::kCPU));
  auto options = std::make_shared<unlearn::SentenceEmbeddingOptions>(
      unlearn::sentence_embedding_options(nc.embedder_model, *encoder));
  options->batch_size = nc.batch_size;
  return [&job, encoder, options, span_b, span_e](const std::vector<std::vector<int64_t>>& rows) {
    std::vector<std::string> texts;
    for (const auto& r : rows) {
      const int64_t b = std::min<int64_t>(span_b, static_cast<int64_t>(r.size()));
      const int64_t e = std::min<int64_t>(span_e, static_cast<int64_t>(r.size()));
      texts.push_back(job.in.tokenizer->decode(std::vector<int64_t>(r.begin() + b, r.begin() + e)));
    }
    return unlearn::sentence_embeddings(*encoder, texts, *options);
  };
}

// This rank's candidates: its slice of the pool (copies of forget rows removed) against every
// forget sample.
std::vector<unlearn::Candidate> local_candidates(Job& job, const EmbedFn& embed, const torch::Tensor& queries,
                                                 int64_t& copies) {
  const NeighboursConfig& nc = job.cfg.neighbours;
  const auto& pool = job.in.pool.tokens;
  auto [pb, pe] = shard::block_range(static_cast<int64_t>(pool.size()), job.comm.size(), job.comm.rank());
  const auto copy = copies_of_forget_rows(job.in.forget, job.in.pool, pb, pe);
  std::vector<std::vector<int64_t>> slice;
  std::vector<int64_t> slice_ids;
  for (int64_t r = pb; r < pe; ++r) {
    if (copy[r - pb]) continue;
    slice.push_back(pool[r]);
    slice_ids.push_back(r);
  }
  copies = static_cast<int64_t>(std::count(copy.begin(), copy.end(), true));
  if (slice.empty()) return {};
  return unlearn::local_topk(queries, embed(slice), slice_ids, 1, unlearn::parse_distance(nc.distance));
}

std::vector<int64_t> mine(Job& job) {
  const int64_t n = static_cast<int64_t>(job.in.forget.size());
  const double t0 = now_s();
  const NeighboursConfig& nc = job.cfg.neighbours;
  // Every rank embeds the (small) forget set, and its own slice of the (large) pool.
  const EmbedFn embed = make_embedder(job);
  auto queries = embed(job.in.forget.tokens);
  int64_t copies = 0;
  std::vector<std::pair<std::pair<int64_t, int64_t>, double>> packed;
  for (const auto& c : local_candidates(job, embed, queries, copies)) packed.push_back({{c.query, c.pool_id}, c.distance});
  auto gathered = comm::gather_objects(job.comm, packed);
  copies = job.comm.allreduce_sum(copies);
  std::vector<int64_t> best(n, -1);
  if (job.root()) {
    std::vector<unlearn::Candidate> all;
    for (const auto& part : gathered)
      for (const auto& [qp, d] : part) all.push_back({qp.first, qp.second, d});
    auto merged = unlearn::merge_topk(all, n, 1);
    for (int64_t i = 0; i < n; ++i) best[i] = merged[i].empty() ? -1 : merged[i][0];
  }
  comm::broadcast_object(job.comm, best);
  UNL_CHECK(std::find(best.begin(), best.end(), -1) == best.end(),
            "no row of the retained pool '" + job.in.pool.path + "' can be a neighbour: all " +
                std::to_string(job.in.pool.size()) + " are copies of forget rows",
            "give data.retain rows other than the forget set (copies of forget rows are never paired)");
  log::info("neighbours: paired {} forget samples with their nearest of {} pool rows ({} embedder, {}; {} copies of "
            "forget rows excluded) in {:.1f} s",
            n, job.in.pool.size(), nc.embedder, nc.distance, copies, now_s() - t0);
  return best;
}

}  // namespace

std::vector<int64_t> read_neighbour_index(const std::string& path, const TokenSet& forget, const TokenSet& pool) {
  const int64_t n = static_cast<int64_t>(forget.size());
  std::vector<int64_t> rows(n, -1);
  if (std::filesystem::path(path).extension() == ".npy") {
    auto arr = data::read_npy_tokens(path);
    UNL_CHECK(static_cast<int64_t>(arr.size()) == n,
              "neighbours.index '" + path + "' has " + std::to_string(arr.size()) + " rows, the forget set " +
                  std::to_string(n),
              "give one retain row number per forget row, in forget-set order (column 0 is used)");
    for (int64_t i = 0; i < n; ++i) rows[i] = arr[i][0];
  } else {
    std::unordered_map<int64_t, int64_t> forget_row, pool_row;
    for (int64_t i = 0; i < n; ++i) forget_row[forget.ids[i]] = i;
    for (size_t j = 0; j < pool.ids.size(); ++j) pool_row[pool.ids[j]] = static_cast<int64_t>(j);
    std::ifstream in(path);
    UNL_CHECK(in.good(), "cannot read neighbours.index '" + path + "'", "check the path");
    std::string line;
    for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      const std::string where = path + ":" + std::to_string(lineno);
      UNL_CHECK(!j.is_discarded() && j.is_object() && j.contains("forget") && j.contains("neighbour") &&
                    j["forget"].is_number_integer() && j["neighbour"].is_number_integer(),
                where + ": not a line {\"forget\": id, \"neighbour\": id}", "each line pairs two integer ids");
      auto f = forget_row.find(j["forget"].get<int64_t>());
      auto p = pool_row.find(j["neighbour"].get<int64_t>());
      UNL_CHECK(f != forget_row.end(), where + ": forget id " + j["forget"].dump() + " is not in data.forget",
                "use the ids of data.forget (its `id` field, else the row number)");
      UNL_CHECK(p != pool_row.end(), where + ": neighbour id " + j["neighbour"].dump() + " is not in data.retain",
                "use the ids of data.retain (its `id` field, else the row number)");
      UNL_CHECK(rows[f->second] < 0, where + ": forget id " + j["forget"].dump() + " is paired twice",
                "give each forget sample one neighbour");
      rows[f->second] = p->second;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    UNL_CHECK(rows[i] >= 0 && rows[i] < static_cast<int64_t>(pool.size()),
              "neighbours.index '" + path + "': forget sample " + std::to_string(forget.ids[i]) +
                  (rows[i] < 0 ? " has no neighbour" : " is paired with retain row " + std::to_string(rows[i]) +
                                                           ", outside the " + std::to_string(pool.size()) + " rows"),
              "pair every forget sample with a row of data.retain");
  return rows;
}

std::vector<int64_t> mine_neighbours(Job& job) {
  const int64_t n = static_cast<int64_t>(job.in.forget.size());
  if (!job.trainer->method().needs_neighbours()) return std::vector<int64_t>(n, -1);
  UNL_CHECK(job.in.pool.size() > 0, "the retained pool '" + job.in.pool.path + "' is empty",
            "icu and graddiff need neighbour rows; give data.retain a non-empty file");
  if (job.cfg.neighbours.index.empty()) return mine(job);
  auto rows = read_neighbour_index(job.cfg.neighbours.index, job.in.forget, job.in.pool);
  log::info("neighbours: {} pairs read from {} (used exactly as given)", rows.size(), job.cfg.neighbours.index);
  return rows;
}

}  // namespace unl::driver
