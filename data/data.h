// Datasets of token sequences: JSONL (text or ids), numpy .npy token arrays and HDF5 token
// datasets, validated with errors that name the file, the line or row, and the fix; plus
// collation, deterministic splits and content hashes.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace unl::data {

struct Sample {
  int64_t id = 0;
  std::vector<int64_t> tokens;
  std::string text;  // empty for token formats
};

struct DataSpec {
  std::string path;
  std::string format = "auto";      // jsonl | npy | h5 | auto (by extension)
  std::string text_field = "text";  // JSONL
  std::string h5_dataset = "tokens";
  int64_t col_begin = 0, col_end = -1;  // token column range for npy/h5 (-1: all)
  int64_t max_tokens = -1;              // truncate (-1: no limit)
  int64_t limit = -1;                   // first N rows (-1: all)
};

using TokenizeFn = std::function<std::vector<int64_t>(std::string_view)>;

/// Read and validate a data set. JSONL lines are objects with the text field (string) or an
/// `ids` array of token ids, and an optional integer `id` (default: the line index). Token ids
/// must lie in [0, vocab_size). Errors name file + line/row + fix: malformed JSON, missing field,
/// empty text, bad id, ragged or wrongly typed arrays, duplicate ids, an empty set.
std::vector<Sample> load_samples(const DataSpec& spec, const TokenizeFn& tokenize, int64_t vocab_size);

/// The 2-D integer array of a .npy file (<u2, <i4, <i8, |u1; C order) as rows of int64.
std::vector<std::vector<int64_t>> read_npy_tokens(const std::string& path);
/// The 2-D integer dataset `name` of an HDF5 file as rows of int64.
std::vector<std::vector<int64_t>> read_h5_tokens(const std::string& path, const std::string& name);

/// Writers (tests, tools, the demo). dtype for npy: "<u2", "<i4" or "<i8".
void write_jsonl(const std::string& path, const std::vector<Sample>& samples);
void write_npy_tokens(const std::string& path, const std::vector<std::vector<int64_t>>& rows,
                      const std::string& dtype);
void write_h5_tokens(const std::string& path, const std::string& name,
                     const std::vector<std::vector<int64_t>>& rows);

struct Collated {
  torch::Tensor ids;   // [B, L] int64
  torch::Tensor mask;  // [B, L] int64, 1 = real token
};
/// Pad rows to a common length (at least pad_to) on the left or the right.
Collated collate(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad_id, bool left_pad,
                 int64_t pad_to = -1);
Collated collate(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, bool left_pad,
                 int64_t pad_to = -1);

/// Deterministic split: `count` samples (chosen by a seeded permutation) go to the second list.
std::pair<std::vector<Sample>, std::vector<Sample>> split_heldout(const std::vector<Sample>& samples,
                                                                 int64_t count, uint64_t seed);

/// XXH3-64 (hex) over ids and tokens: identifies a data set in reports and checkpoints.
std::string dataset_hash(const std::vector<Sample>& samples);

}  // namespace unl::data
