// load_samples(): format detection, the JSONL reader, and the validation every format shares,
// with errors that point at the file and the line (JSONL) or row (npy / h5); plus write_jsonl.
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/error.h"
#include "data/data.h"

namespace unl::data {
namespace {

constexpr const char* kLineShape = "each line must be one JSON object, e.g. {\"id\": 3, \"text\": \"...\"}";

std::string detect_format(const DataSpec& spec) {
  if (spec.format != "auto") return spec.format;
  const std::string ext = std::filesystem::path(spec.path).extension().string();
  if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson") return "jsonl";
  if (ext == ".npy") return "npy";
  if (ext == ".h5" || ext == ".hdf5" || ext == ".hdf") return "h5";
  UNL_USAGE_ERROR("cannot tell the format of '" + spec.path + "' from its extension '" + ext + "'",
                  "name it .jsonl, .npy or .h5, or set data.format = \"jsonl\" | \"npy\" | \"h5\"");
}

// Samples plus where each came from ("file:LINE" or "file row R"), for the shared checks.
struct Loaded {
  std::vector<Sample> samples;
  std::vector<std::string> where;
};

// std::getline that stops at `cap` bytes (setting too_long) instead of growing the string to
// whatever a newline-free file holds.
bool next_line(std::istream& in, std::string& line, size_t cap, bool& too_long) {
  line.clear();
  too_long = false;
  std::streambuf* sb = in.rdbuf();
  while (true) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return !line.empty();
    }
    if (c == '\n') return true;
    if (line.size() >= cap) {
      too_long = true;
      return true;
    }
    line.push_back(static_cast<char>(c));
  }
}

// `ids` (token ids as given) and an optional `prompt_len`.
void read_ids(const nlohmann::json& ids, const nlohmann::json& line, const std::string& at, Sample& s) {
  UNL_CHECK(ids.is_array(), at + ": \"ids\" must be an array of token ids (got " + ids.type_name() + ")",
            "write \"ids\": [464, 2068, ...]");
  for (size_t k = 0; k < ids.size(); ++k) {
    const auto& v = ids[k];
    UNL_CHECK(!v.is_array(), at + ": \"ids\" is a nested (ragged) array; element " + std::to_string(k) + " is " + v.dump(),
              "one line holds one flat sequence; put each sequence on its own line");
    UNL_CHECK(v.is_number_integer(), at + ": \"ids\" element " + std::to_string(k) + " is " + v.dump() + ", not an integer",
              "token ids are integers");
    s.tokens.push_back(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())
                           ? std::numeric_limits<int64_t>::max()
                           : v.get<int64_t>());
  }
  UNL_CHECK(!s.tokens.empty(), at + ": \"ids\" is empty", "remove the line or give it token ids");
  if (const auto p = line.find("prompt_len"); p != line.end()) {
    UNL_CHECK(p->is_number_integer() && p->get<int64_t>() >= 0 &&
                  p->get<int64_t>() < static_cast<int64_t>(s.tokens.size()),
              at + ": \"prompt_len\" must be an integer in [0, " + std::to_string(s.tokens.size()) + ") (got " +
                  p->dump() + ")",
              "prompt_len counts the leading prompt tokens of \"ids\"; at least one response token must follow");
    s.prompt_len = p->get<int64_t>();
  }
}

// A string field of a qa line, named in errors.
std::string string_field(const nlohmann::json& j, const std::string& field, const std::string& at,
                         const std::string& key) {
  const auto it = j.find(field);
  UNL_CHECK(it != j.end(), at + ": no \"" + field + "\" field",
            "each data.format = \"qa\" line needs the prompt and response fields; set " + key +
                " to the name your data uses");
  UNL_CHECK(it->is_string(), at + ": field \"" + field + "\" must be a string (got " + it->type_name() + ")",
            "store the text as a JSON string");
  UNL_CHECK(!it->get_ref<const std::string&>().empty(), at + ": empty \"" + field + "\"",
            "remove the line or give it text");
  return it->get<std::string>();
}

std::vector<Message> qa_messages(const nlohmann::json& j, const DataSpec& spec, const std::string& at) {
  return {{"user", string_field(j, spec.prompt_field, at, "data.prompt_field")},
          {"assistant", string_field(j, spec.response_field, at, "data.response_field")}};
}

std::vector<Message> chat_messages(const nlohmann::json& j, const std::string& at) {
  constexpr const char* kShape = "write \"messages\": [{\"role\": \"user\", \"content\": \"...\"}, "
                                 "{\"role\": \"assistant\", \"content\": \"...\"}]";
  const auto it = j.find("messages");
  UNL_CHECK(it != j.end(), at + ": no \"messages\" field", std::string("data.format = \"chat\" lines hold a conversation: ") + kShape);
  UNL_CHECK(it->is_array() && it->size() >= 2,
            at + ": \"messages\" must be an array of at least two messages (got " + it->dump().substr(0, 80) + ")",
            kShape);
  std::vector<Message> out;
  for (size_t k = 0; k < it->size(); ++k) {
    const auto& m = (*it)[k];
    const std::string where = at + ": message " + std::to_string(k);
    UNL_CHECK(m.is_object() && m.contains("role") && m.contains("content") && m["role"].is_string() &&
                  m["content"].is_string(),
              where + " is not {\"role\": string, \"content\": string}", kShape);
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  UNL_CHECK(out.back().role == "assistant" && !out.back().content.empty(),
            at + ": the last message must be a non-empty \"assistant\" message (got role \"" + out.back().role + "\")",
            "the last assistant message is the response the losses and metrics see; earlier messages are the prompt");
  return out;
}

Loaded read_jsonl(const DataSpec& spec, const TextEncoder& encoder) {
  const bool qa_or_chat = spec.format == "qa" || spec.format == "chat";
  std::ifstream in(spec.path, std::ios::binary);
  UNL_CHECK(in.good(), "cannot open '" + spec.path + "'", "check the path and permissions");
  Loaded out;
  std::string line;
  int64_t lineno = 0, index = 0;
  bool too_long = false;
  while (next_line(in, line, static_cast<size_t>(kMaxJsonlLineBytes), too_long)) {
    ++lineno;
    // The parsed JSON and the tokens take several times a line's bytes: bound them up front.
    UNL_CHECK(!too_long,
              spec.path + ":" + std::to_string(lineno) + ": line longer than the limit of " +
                  std::to_string(kMaxJsonlLineBytes) + " bytes",
              "one line holds one training sequence (a few KB); the file is not line-delimited JSON "
              "or a sequence is absurdly long: split it or shorten it");
    if (lineno == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 BOM
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (spec.limit >= 0 && index >= spec.limit) break;
    const std::string at = spec.path + ":" + std::to_string(lineno);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    UNL_CHECK(!j.is_discarded(), at + ": not valid JSON", kLineShape);
    UNL_CHECK(j.is_object(), at + ": a JSON " + std::string(j.type_name()) + ", not an object", kLineShape);
    Sample s;
    s.id = index;
    if (auto it = j.find("id"); it != j.end()) {
      UNL_CHECK(it->is_number_integer() &&
                    !(it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())),
                at + ": \"id\" must be an integer (got " + it->dump() + ")",
                "use integer ids, or leave \"id\" out and the line's index is used");
      s.id = it->get<int64_t>();
    }
    if (const auto ids_it = j.find("ids"); ids_it != j.end()) {
      if (const auto text_it = j.find(spec.text_field); text_it != j.end()) {  // kept beside the ids
        UNL_CHECK(text_it->is_string(),
                  at + ": field \"" + spec.text_field + "\" must be a string (got " + text_it->type_name() + ")",
                  "store the text as a JSON string, or give token ids as \"ids\": [..]");
        s.text = text_it->get<std::string>();
      }
      read_ids(*ids_it, j, at, s);
    } else if (qa_or_chat) {
      const auto messages = spec.format == "qa" ? qa_messages(j, spec, at) : chat_messages(j, at);
      Sample r = encode_prompt_response(messages, encoder, spec.separator, at);
      s.tokens = std::move(r.tokens);
      s.text = std::move(r.text);
      s.prompt_len = r.prompt_len;
    } else if (const auto text_it = j.find(spec.text_field); text_it != j.end()) {
      UNL_CHECK(text_it->is_string(),
                at + ": field \"" + spec.text_field + "\" must be a string (got " + text_it->type_name() + ")",
                "store the text as a JSON string, or give token ids as \"ids\": [..]");
      s.text = text_it->get<std::string>();
      UNL_CHECK(!s.text.empty(), at + ": empty text in field \"" + spec.text_field + "\"",
                "remove the line or give it text");
      UNL_CHECK(static_cast<bool>(encoder.tokenize), at + ": text given but no tokenizer",
                "this is a bug in the caller: JSONL text needs a tokenize function");
      s.tokens = encoder.tokenize(s.text);
      UNL_CHECK(!s.tokens.empty(), at + ": the text tokenizes to nothing", "give the line real text");
    } else {
      UNL_THROW(at + ": no \"" + spec.text_field + "\" or \"ids\" field",
                "each line needs the text (field set by data.text_field) or an \"ids\" array; question/answer "
                "data needs data.format = \"qa\" (or \"chat\" for a \"messages\" array)");
    }
    out.samples.push_back(std::move(s));
    out.where.push_back(at);
    ++index;
  }
  UNL_CHECK(!in.bad(), "reading '" + spec.path + "' failed", "the disk may have an I/O error");
  return out;
}

Loaded rows_to_samples(std::vector<std::vector<int64_t>> rows, const DataSpec& spec) {
  Loaded out;
  for (size_t r = 0; r < rows.size(); ++r) {
    auto& row = rows[r];
    const int64_t cols = static_cast<int64_t>(row.size());
    const int64_t e = spec.col_end < 0 ? cols : spec.col_end;
    UNL_CHECK(spec.col_begin >= 0 && spec.col_begin < e && e <= cols,
              spec.path + ": column range [" + std::to_string(spec.col_begin) + ", " + std::to_string(e) +
                  ") does not fit rows of " + std::to_string(cols) + " tokens",
              "set data.col_begin / data.col_end so that 0 <= col_begin < col_end <= " + std::to_string(cols));
    Sample s;
    s.id = static_cast<int64_t>(r);
    s.tokens.assign(row.begin() + spec.col_begin, row.begin() + e);
    out.samples.push_back(std::move(s));
    out.where.push_back(spec.path + " row " + std::to_string(r));
  }
  return out;
}

}  // namespace

std::vector<Sample> load_samples(const DataSpec& spec, const TokenizeFn& tokenize, int64_t vocab_size) {
  TextEncoder encoder;
  encoder.tokenize = tokenize;
  return load_samples_encoded(spec, encoder, vocab_size);
}

std::vector<Sample> load_samples_encoded(const DataSpec& spec, const TextEncoder& encoder, int64_t vocab_size) {
  UNL_CHECK(vocab_size > 0, "loading '" + spec.path + "': vocabulary size " + std::to_string(vocab_size),
            "this is a bug in the caller: pass the model's vocab_size");
  UNL_CHECK(std::filesystem::is_regular_file(spec.path), "data file '" + spec.path + "' does not exist or is not a file",
            "check the path in the configuration (relative paths are relative to the config file)");
  const std::string format = detect_format(spec);
  Loaded in;
  if (format == "jsonl" || format == "qa" || format == "chat") {
    in = read_jsonl(spec, encoder);
  } else if (format == "npy") {
    in = rows_to_samples(read_npy_tokens(spec.path, spec.limit), spec);
  } else if (format == "h5") {
    in = rows_to_samples(read_h5_tokens(spec.path, spec.h5_dataset, spec.limit), spec);
  } else {
    UNL_USAGE_ERROR("unknown data format '" + format + "' for '" + spec.path + "'", "use jsonl, qa, chat, npy, h5 or auto");
  }
  UNL_CHECK(!in.samples.empty(), "data file '" + spec.path + "' holds no samples",
            "give it at least one sequence (blank lines are skipped)");
  std::unordered_map<int64_t, size_t> first_seen;
  for (size_t i = 0; i < in.samples.size(); ++i) {
    Sample& s = in.samples[i];
    const std::string& at = in.where[i];
    const auto [it, fresh] = first_seen.emplace(s.id, i);
    UNL_CHECK(fresh, at + ": duplicate id " + std::to_string(s.id) + " (first at " + in.where[it->second] + ")",
              "give every sample a unique id");
    if (spec.max_tokens > 0 && static_cast<int64_t>(s.tokens.size()) > spec.max_tokens) {
      s.tokens.resize(spec.max_tokens);
      UNL_CHECK(s.prompt_len < spec.max_tokens,
                at + ": the prompt alone is " + std::to_string(s.prompt_len) + " tokens, so truncation to " +
                    std::to_string(spec.max_tokens) + " (data.max_tokens) leaves no response token",
                "raise data.max_tokens or shorten the prompt");
    }
    UNL_CHECK(s.tokens.size() >= 2, at + ": only " + std::to_string(s.tokens.size()) + " token(s)",
              "sequences need at least 2 tokens (one to predict from, one to predict)");
    for (size_t t = 0; t < s.tokens.size(); ++t)
      UNL_CHECK(s.tokens[t] >= 0 && s.tokens[t] < vocab_size,
                at + ": token id " + std::to_string(s.tokens[t]) + " at position " + std::to_string(t) +
                    " outside the vocabulary [0, " + std::to_string(vocab_size) + ")",
                "the data was tokenized for another model; re-tokenize it with this model's tokenizer");
  }
  return std::move(in.samples);
}

void write_jsonl(const std::string& path, const std::vector<Sample>& samples) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  UNL_CHECK(out.good(), "cannot write '" + path + "'", "check the directory exists and is writable");
  for (const auto& s : samples) {
    nlohmann::json j = {{"id", s.id}};
    // A prompt/response sample keeps its ids: its text alone would lose where the prompt ends.
    if (s.text.empty() || s.prompt_len > 0) j["ids"] = s.tokens;
    if (s.prompt_len > 0) j["prompt_len"] = s.prompt_len;
    if (!s.text.empty()) j["text"] = s.text;
    out << j.dump() << "\n";
  }
  out.close();
  UNL_CHECK(!out.fail(), "write to '" + path + "' failed", "the disk may be full");
}

}  // namespace unl::data
