// Datasets of token sequences: JSONL (text or ids), numpy .npy token arrays and HDF5 token
// datasets, validated with errors that name the file, the line or row, and the fix; plus
// collation, forget <-> neighbour pairing, deterministic splits and content hashes.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/token_mask.h"

namespace unl::data {

/// One sequence of a data set. `id` is the JSONL `id` (default: the index among the file's
/// non-blank lines) or the row index of a token array.
struct Sample {
  int64_t id = 0;
  std::vector<int64_t> tokens;
  std::string text;  // empty for token formats and JSONL `ids` lines without text
  /// Tokens [0, prompt_len) are the prompt of a question/answer or chat sample: context the model
  /// reads but never a target of a loss or metric. 0 for plain text (every token is a target).
  /// Always < tokens.size(): a sample has at least one response token.
  int64_t prompt_len = 0;
};

/// Where a data set lives and how to read it.
struct DataSpec {
  std::string path;
  /// jsonl | npy | h5 | auto (by extension) | qa (JSONL prompt/response fields) | chat (JSONL
  /// `messages` whose last message is the assistant's response)
  std::string format = "auto";
  std::string text_field = "text";  // JSONL
  std::string prompt_field = "question";   // qa
  std::string response_field = "answer";   // qa
  /// qa/chat without a chat template: text = prompt + separator + response (chat: the earlier
  /// messages' contents joined by it).
  std::string separator = "\n";
  std::string h5_dataset = "tokens";
  int64_t col_begin = 0, col_end = -1;  // token column range for npy/h5 (-1: to the end)
  int64_t max_tokens = -1;              // truncate each sequence (-1: no limit)
  int64_t limit = -1;                   // first N rows / samples (-1: all)
};

/// Text -> token ids (e.g. a lambda over model::Tokenizer::encode). May be empty for token formats.
using TokenizeFn = std::function<std::vector<int64_t>(std::string_view)>;

/// One chat message.
struct Message {
  std::string role, content;
};
/// Renders a conversation through a chat template (model::Tokenizer::apply_chat_template).
using RenderChatFn = std::function<std::string(const std::vector<Message>&, bool add_generation_prompt)>;

/// How text becomes tokens. `tokenize` encodes plain text (format jsonl, and qa/chat without a
/// template) as the tokenizer's default encode does (a BOS where the model has one).
/// `render_chat` (empty: the model has no template, or data.chat_template = "none") renders qa and
/// chat samples; its output is encoded by `tokenize_rendered`, which adds no special tokens (the
/// template writes them).
struct TextEncoder {
  TokenizeFn tokenize;
  RenderChatFn render_chat;
  TokenizeFn tokenize_rendered;
};

/// A prompt/response sample as text and tokens. `messages` ends with the response (role
/// "assistant"). With a template: prompt = render(messages[:-1], add_generation_prompt = true),
/// full = render(messages, false); without: prompt = the earlier contents joined by `separator`,
/// plus `separator`; full = prompt + response. tokens = encode(full), and prompt_len is the
/// length of the longest common prefix of encode(prompt) and tokens (a BPE merge across the
/// boundary leaves the merged token to the response). Errors (via `at`, "file:line") when the
/// template does not render the prompt as a prefix of the conversation, or when no response
/// token remains.
Sample encode_prompt_response(const std::vector<Message>& messages, const TextEncoder& encoder,
                              const std::string& separator, const std::string& at);

/// Longest JSONL line load_samples reads (64 MiB); a longer one is an error naming the file and
/// line, raised before the line is parsed or tokenized (each of which takes several times its size).
constexpr int64_t kMaxJsonlLineBytes = int64_t{64} << 20;

/// Read and validate a data set. JSONL lines are objects with the text field (string) or an
/// `ids` array of token ids (used as given when both are present), and an optional integer `id`.
/// Token ids must lie in [0, vocab_size) and every sequence needs >= 2 tokens. Errors name the
/// file + line (JSONL) or row (npy/h5) and the fix: malformed JSON, missing or mistyped field,
/// empty text, bad token id, nested/non-integer id arrays, duplicate ids, an empty set.
/// qa lines carry the prompt and response fields (strings); chat lines a `messages` array of
/// {"role", "content"} objects ending with an "assistant" message (the response; earlier
/// messages, assistant ones included, are context). Both may instead give `ids` plus an integer
/// `prompt_len`; so may jsonl lines. Errors name the file, the line and the missing or mistyped
/// field. max_tokens truncation keeps the prompt and must leave a response token.
std::vector<Sample> load_samples_encoded(const DataSpec& spec, const TextEncoder& encoder, int64_t vocab_size);
/// load_samples_encoded without a chat template (qa/chat samples are joined with spec.separator).
std::vector<Sample> load_samples(const DataSpec& spec, const TokenizeFn& tokenize, int64_t vocab_size);

/// The 2-D integer array of a numpy .npy file (versions 1.0-3.0; dtypes |u1 <u2 <i2 <i4 <u4 <i8;
/// C order only) as rows of int64; at most `max_rows` rows are read (-1: all).
std::vector<std::vector<int64_t>> read_npy_tokens(const std::string& path, int64_t max_rows = -1);
/// Largest ratio of claimed (uncompressed) to stored bytes read_h5_tokens accepts for a chunked
/// dataset; deflate's own maximum is about 1032:1. A chunked dataset whose shape claims more
/// than this times its stored bytes (e.g. 10^12 rows in a 2 KB file) is refused before any
/// buffer is sized from the shape.
constexpr int64_t kMaxH5ExpansionRatio = 1100;
/// Largest chunk (uncompressed) of a chunked token dataset: HDF5 inflates a whole chunk to read
/// any part of it. h5py's automatic chunks are about 1 MB.
constexpr int64_t kMaxH5ChunkBytes = int64_t{1} << 30;
/// The 2-D integer dataset `name` of an HDF5 file as rows of int64; at most `max_rows` rows.
/// Contiguous and compact datasets must store exactly shape x item size bytes; chunked ones at
/// least 1/kMaxH5ExpansionRatio of what is read; virtual and external-file datasets are refused.
std::vector<std::vector<int64_t>> read_h5_tokens(const std::string& path, const std::string& name,
                                                 int64_t max_rows = -1);

/// Writers (tests, tools, the demo). JSONL lines get `id` and `text`, or `ids` (and `prompt_len`
/// when not 0) when text is empty.
void write_jsonl(const std::string& path, const std::vector<Sample>& samples);
/// A numpy-loadable .npy (format 1.0). dtype: "<u2"/"uint16", "<i4"/"int32" or "<i8"/"int64";
/// rows must be equally long and every value must fit the dtype.
void write_npy(const std::string& path, const std::vector<std::vector<int64_t>>& rows, const std::string& dtype);
inline void write_npy_tokens(const std::string& path, const std::vector<std::vector<int64_t>>& rows,
                             const std::string& dtype) {
  write_npy(path, rows, dtype);
}
/// A 2-D little-endian int64 dataset `name` in a new HDF5 file (truncates an existing one).
void write_h5_tokens(const std::string& path, const std::string& name, const std::vector<std::vector<int64_t>>& rows);

struct Collated {
  torch::Tensor ids;   // [B, L] int64
  torch::Tensor mask;  // [B, L] int64: unl::kMaskPad / kMaskToken / kMaskPrompt
};
/// Pad rows to a common length L = max(longest row, pad_to) on the left or the right. With
/// `prompt_lens` (one per row; empty: none) the first prompt_lens[i] tokens of row i are marked
/// unl::kMaskPrompt (attended, never a target), the rest kMaskToken.
Collated collate(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad_id, bool left_pad,
                 int64_t pad_to = -1, const std::vector<int64_t>& prompt_lens = {});
Collated collate(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, bool left_pad,
                 int64_t pad_to = -1, const std::vector<int64_t>& prompt_lens = {});

/// A forget sample and the retained-pool row of its neighbour (-1: none).
struct Pair {
  int64_t forget_index = 0;   // position in the forget vector
  int64_t forget_id = 0;      // Sample::id of the forget sample
  int64_t neighbour_row = -1; // position in the pool vector
};
/// Pair forget[i] with pool[neighbour_rows[i]]. `neighbour_rows` empty: no neighbours (all -1).
/// Rejects a length mismatch, rows outside the pool, and a neighbour identical to its forget
/// sample (the pool must not contain the sequences being forgotten).
std::vector<Pair> make_pairs(const std::vector<Sample>& forget, const std::vector<int64_t>& neighbour_rows,
                             const std::vector<Sample>& pool);

/// 0..n-1 shuffled by Fisher-Yates over splitmix64(seed): the same on every platform and compiler.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);
/// Deterministic split: `count` samples chosen by seeded_permutation go to .second, the rest to
/// .first; both keep the input order.
std::pair<std::vector<Sample>, std::vector<Sample>> split_heldout(const std::vector<Sample>& samples,
                                                                 int64_t count, uint64_t seed);
/// As split_heldout with count = round(fraction * size), fraction in [0, 1].
std::pair<std::vector<Sample>, std::vector<Sample>> split_heldout_fraction(const std::vector<Sample>& samples,
                                                                          double fraction, uint64_t seed);

/// XXH3-64 (hex) over ids, tokens and prompt lengths (in order): identifies a data set in reports
/// and checkpoints. Sets without prompts hash as they did before prompts existed.
std::string dataset_hash(const std::vector<Sample>& samples);

}  // namespace unl::data
