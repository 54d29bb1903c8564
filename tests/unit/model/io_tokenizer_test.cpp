// GPT-2 byte-level BPE: the public golden file (ids from the reference tokenizer) encodes and
// decodes exactly, tokenizer.json agrees with vocab.json + merges.txt, the hand-written
// pre-tokenizer splits like the reference regex, and malformed files name the file and line.
#include "common/error.h"
#include "model/bpe_pretokenize.h"
#include "model/embedded_assets.h"
#include "model/tokenizer.h"
#include "tokenizer/unicode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using unl::model::Tokenizer;

const std::string kAssets = std::string(UNL_SOURCE_DIR) + "/assets/gpt2";
const std::string kGolden = std::string(UNL_SOURCE_DIR) + "/../shared/data/gpt2/gpt2_encode_public.jsonl";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/unl_io_tok_XXXXXX";
  return mkdtemp(tmpl);
}

struct Golden {
  std::string text;
  std::vector<int64_t> ids;
};

std::vector<Golden> load_golden() {
  std::vector<Golden> out;
  std::ifstream in(kGolden);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    out.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<int64_t>>()});
  }
  return out;
}

const json& gpt2_vocab() {
  static const json v = json::parse(slurp(kAssets + "/vocab.json"));
  return v;
}

int64_t id_of(const std::string& printable_token) { return gpt2_vocab().at(printable_token).get<int64_t>(); }

// Hand cases that exercise every branch of the pattern (expected pieces written by hand).
struct Split {
  std::string text;
  std::vector<std::string> pieces;
};
const std::vector<Split> kSplits = {
    {"Hello world", {"Hello", " world"}},
    {"don't I'm they're we've he'll she'd it's", {"don", "'t", " I", "'m", " they", "'re", " we", "'ve",
                                                  " he", "'ll", " she", "'d", " it", "'s"}},
    {"THEY'RE", {"THEY", "'", "RE"}},  // contractions are case-sensitive
    {"'''s 's", {"'''", "s", " '", "s"}},
    {"a  b", {"a", " ", " b"}},
    {"a   \n\nb", {"a", "   \n", "\n", "b"}},
    {"hi  ", {"hi", "  "}},
    {"  lead", {" ", " lead"}},
    {"a\tb\n", {"a", "\t", "b", "\n"}},
    {"x  !?", {"x", " ", " !?"}},
    {"12345 67 8.5", {"12345", " 67", " 8", ".", "5"}},
    {"abc123def", {"abc", "123", "def"}},
    {"hi \xF0\x9F\x91\x8B!", {"hi", " \xF0\x9F\x91\x8B!"}},                  // emoji is So: "other"
    {"\xE4\xBD\xA0\xE5\xA5\xBD \xE4\xB8\x96\xE7\x95\x8C", {"\xE4\xBD\xA0\xE5\xA5\xBD", " \xE4\xB8\x96\xE7\x95\x8C"}},  // CJK letters
    {"caf\xC3\xA9 \xC2\xBD\xD9\xA3", {"caf\xC3\xA9", " \xC2\xBD\xD9\xA3"}},    // é letter; ½ (No), ٣ (Nd) numbers
    {"\xE3\x80\x80" "a", {"\xE3\x80\x80", "a"}},                               // U+3000 is whitespace
    {"a\x1F" "b", {"a", "\x1F", "b"}},                                         // U+001F is not \s
    {"a\xC2\xA0 b", {"a", "\xC2\xA0", " b"}},                                  // NBSP is \s
    {"a\xFF" "b", {"a", "\xFF", "b"}},                                         // invalid byte: "other"
    {" ", {" "}},
    {"", {}},
};

TEST(Pretokenize, MatchesTheReferencePatternByHand) {
  for (const auto& s : kSplits) {
    auto got = unl::model::bpe::pretokenize(s.text);
    std::vector<std::string> pieces(got.begin(), got.end());
    EXPECT_EQ(pieces, s.pieces) << "text: " << s.text;
  }
}

TEST(Utf8, ReplacementMatchesPythonErrorsReplace) {
  using unl::model::bpe::utf8_replace_invalid;
  const std::string r = "\xEF\xBF\xBD";
  // Expected values from Python: bytes.decode("utf-8", "replace").
  EXPECT_EQ(utf8_replace_invalid("\xE0\x80"), r + r);
  EXPECT_EQ(utf8_replace_invalid("\xE2\x82"), r);
  EXPECT_EQ(utf8_replace_invalid("\xF0\x9F\x91"), r);
  EXPECT_EQ(utf8_replace_invalid("\xC0\xAF"), r + r);
  EXPECT_EQ(utf8_replace_invalid("\xED\xA0\x80"), r + r + r);
  EXPECT_EQ(utf8_replace_invalid("a\x80" "b"), "a" + r + "b");
  EXPECT_EQ(utf8_replace_invalid("\xF4\x90\x80\x80"), r + r + r + r);
  EXPECT_EQ(utf8_replace_invalid("\xE2\x82\xAC\xE2"), "\xE2\x82\xAC" + r);
  EXPECT_EQ(utf8_replace_invalid("\xF0\x9F\x91" "a"), r + "a");
  EXPECT_EQ(utf8_replace_invalid("\xFF\xFE"), r + r);
  EXPECT_EQ(utf8_replace_invalid("ok \xF0\x9F\x91\x8B"), "ok \xF0\x9F\x91\x8B");
}

TEST(Tokenizer, EmbeddedGpt2Basics) {
  Tokenizer t = Tokenizer::gpt2();
  EXPECT_EQ(t.vocab_size(), 50257);
  EXPECT_EQ(t.eos_id(), 50256);
  EXPECT_EQ(unl::model::assets::gpt2_vocab_json(), slurp(kAssets + "/vocab.json"));
  EXPECT_EQ(unl::model::assets::gpt2_merges_txt(), slurp(kAssets + "/merges.txt"));
  // Whole-token pieces: the ids are plain vocab.json lookups of the hand-split pieces.
  EXPECT_EQ(t.encode("Hello world"), (std::vector<int64_t>{15496, 995}));
  EXPECT_EQ(t.encode("don't I'm they're"),
            (std::vector<int64_t>{id_of("don"), id_of("'t"), id_of("ĠI"), id_of("'m"), id_of("Ġthey"), id_of("'re")}));
  EXPECT_EQ(t.encode("a  b"), (std::vector<int64_t>{id_of("a"), id_of("Ġ"), id_of("Ġb")}));
  EXPECT_EQ(t.encode("a\tb\n\n"), (std::vector<int64_t>{id_of("a"), id_of("ĉ"), id_of("b"), id_of("ĊĊ")}));
  EXPECT_EQ(t.encode("12 345 67"), (std::vector<int64_t>{id_of("12"), id_of("Ġ345"), id_of("Ġ67")}));
  EXPECT_TRUE(t.encode("").empty());
  // <|endoftext|> in the text is the added token; a near miss is ordinary text.
  EXPECT_EQ(t.encode("<|endoftext|>"), std::vector<int64_t>{50256});
  EXPECT_EQ(t.encode("a<|endoftext|>b"), (std::vector<int64_t>{id_of("a"), 50256, id_of("b")}));
  EXPECT_EQ(t.encode("<|endoftext|><|endoftext|>"), (std::vector<int64_t>{50256, 50256}));
  EXPECT_GT(t.encode("<|endoftext|").size(), 1u);
  EXPECT_EQ(t.decode({id_of("a"), 50256, id_of("b")}), "a<|endoftext|>b");
  EXPECT_THROW(t.decode({50257}), unl::Error);
  EXPECT_THROW(t.decode({-1}), unl::Error);
}

TEST(Tokenizer, RoundTripsHandCases) {
  Tokenizer t = Tokenizer::gpt2();
  for (const auto& s : kSplits) {
    if (s.text.find('\xFF') != std::string::npos) continue;  // not valid UTF-8: checked below
    auto ids = t.encode(s.text);
    EXPECT_EQ(t.decode(ids), s.text);
    // Pieces are encoded independently: the ids are the concatenation of each piece's ids.
    std::vector<int64_t> joined;
    for (const auto& p : s.pieces) {
      auto pi = t.encode(p);
      joined.insert(joined.end(), pi.begin(), pi.end());
    }
    EXPECT_EQ(ids, joined) << s.text;
  }
  // Byte-level: invalid input bytes survive encoding; decoding replaces them like Python.
  EXPECT_EQ(t.decode(t.encode("a\xFF" "b")), "a\xEF\xBF\xBD" "b");
  // Half an emoji decodes to one replacement character.
  auto emoji = t.encode("\xF0\x9F\x91\x8B");
  ASSERT_GT(emoji.size(), 1u);
  EXPECT_EQ(t.decode({emoji[0]}).substr(0, 3), "\xEF\xBF\xBD");
  // Long runs without spaces exercise many merge rounds.
  const std::string long_word(3000, 'a');
  EXPECT_EQ(t.decode(t.encode(long_word)), long_word);
}

TEST(Tokenizer, GoldenPublicFile) {
  std::vector<Golden> golden = load_golden();
  if (golden.empty()) GTEST_SKIP() << kGolden << " not found";
  Tokenizer t = Tokenizer::gpt2();
  for (size_t i = 0; i < golden.size(); ++i) {
    EXPECT_EQ(t.encode(golden[i].text), golden[i].ids) << "line " << i + 1 << ": " << golden[i].text;
    EXPECT_EQ(t.decode(golden[i].ids), golden[i].text) << "line " << i + 1;
  }
}

// A tokenizer.json in the `tokenizers` library's layout built from the embedded files.
std::string make_tokenizer_json(bool merges_as_pairs) {
  json merges = json::array();
  const std::string text = slurp(kAssets + "/merges.txt");
  size_t pos = text.find('\n') + 1;  // skip "#version: 0.2"
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (merges_as_pairs) merges.push_back({line.substr(0, sp), line.substr(sp + 1)});
    else merges.push_back(line);
  }
  json j = {
      {"version", "1.0"},
      {"added_tokens", {{{"id", 50256}, {"content", "<|endoftext|>"}, {"single_word", false},
                         {"lstrip", false}, {"rstrip", false}, {"normalized", true}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                 {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"vocab", gpt2_vocab()}, {"merges", merges}}}};
  const std::string dir = temp_dir();
  spit(dir + "/tokenizer.json", j.dump());
  return dir;
}

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  for (const auto& g : load_golden()) texts.push_back(g.text);
  for (const auto& s : kSplits) texts.push_back(s.text);
  texts.push_back("x<|endoftext|>y");
  return texts;
}

TEST(Tokenizer, TokenizerJsonAgreesWithVocabAndMerges) {
  Tokenizer ref = Tokenizer::gpt2();
  for (bool pairs : {false, true}) {
    Tokenizer t = Tokenizer::from_dir(make_tokenizer_json(pairs));
    EXPECT_EQ(t.vocab_size(), 50257);
    EXPECT_EQ(t.eos_id(), 50256);
    // Text that is not UTF-8 cannot reach Hugging Face tokenizers at all (Rust and Python strings
    // are Unicode); the tokenizer.json pipeline reads it as UTF-8 with U+FFFD for each bad byte
    // (as Python's errors="replace"), while the GPT-2 files path keeps the raw bytes.
    for (const auto& text : corpus())
      EXPECT_EQ(t.encode(text), ref.encode(unl::tokenizer::unicode::replace_invalid_utf8(text))) << text;
  }
  Tokenizer f = Tokenizer::from_files(kAssets + "/vocab.json", kAssets + "/merges.txt");
  for (const auto& text : corpus()) EXPECT_EQ(f.encode(text), ref.encode(text)) << text;
}

TEST(Tokenizer, SaveWritesFilesTransformersReads) {
  const std::string dir = temp_dir() + "/tok";
  Tokenizer::gpt2().save(dir);
  EXPECT_EQ(json::parse(slurp(dir + "/vocab.json")), gpt2_vocab());
  EXPECT_EQ(slurp(dir + "/merges.txt"), slurp(kAssets + "/merges.txt"));
  json config = json::parse(slurp(dir + "/tokenizer_config.json"));
  EXPECT_EQ(config["tokenizer_class"], "GPT2Tokenizer");
  EXPECT_EQ(config["eos_token"], "<|endoftext|>");
  EXPECT_EQ(config["added_tokens_decoder"]["50256"]["content"], "<|endoftext|>");
  EXPECT_EQ(json::parse(slurp(dir + "/special_tokens_map.json"))["eos_token"], "<|endoftext|>");
  Tokenizer back = Tokenizer::from_dir(dir);
  Tokenizer ref = Tokenizer::gpt2();
  for (const auto& text : corpus()) EXPECT_EQ(back.encode(text), ref.encode(text));
}

// A small byte-level vocabulary: GPT-2's 256 byte tokens (ids 0..255) plus a few merges.
struct Small {
  std::string dir;
  json vocab;
  std::string merges = "#version: 0.2\nĠ t\nĠt h\n";
  std::string raw_vocab;  // written verbatim instead of `vocab` when set
  Small() : dir(temp_dir()) {
    for (auto it = gpt2_vocab().begin(); it != gpt2_vocab().end(); ++it)
      if (it.value().get<int64_t>() < 256) vocab[it.key()] = it.value();
    vocab["Ġt"] = 256;
    vocab["Ġth"] = 257;
  }
  void write() const {
    spit(dir + "/vocab.json", raw_vocab.empty() ? vocab.dump() : raw_vocab);
    spit(dir + "/merges.txt", merges);
  }
};

void expect_load_error(const Small& s, const std::vector<std::string>& needles) {
  s.write();
  try {
    Tokenizer::from_dir(s.dir);
    ADD_FAILURE() << "no error; expected " << needles[0];
  } catch (const unl::Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "want '" << n << "' in: " << msg;
  }
}

TEST(Tokenizer, SmallVocabularyMergesByRank) {
  Small s;
  s.write();
  Tokenizer t = Tokenizer::from_dir(s.dir);
  EXPECT_EQ(t.vocab_size(), 258);
  EXPECT_EQ(t.eos_id(), -1);
  EXPECT_EQ(t.encode(" the"), (std::vector<int64_t>{257, id_of("e")}));
  EXPECT_EQ(t.encode(" tt"), (std::vector<int64_t>{256, id_of("t")}));
  EXPECT_EQ(t.decode({257, id_of("e")}), " the");
}

TEST(Tokenizer, MalformedFilesNameFileAndLine) {
  { Small s; s.raw_vocab = "{\"a\": 1,"; expect_load_error(s, {"vocab.json", "not valid JSON"}); }
  { Small s; s.raw_vocab = "[1, 2]"; expect_load_error(s, {"vocab.json", "must be a JSON object"}); }
  { Small s; s.vocab["x"] = "7"; expect_load_error(s, {"vocab.json", "entry 'x'", "id must be an integer"}); }
  { Small s; s.vocab["Ġth"] = 256; expect_load_error(s, {"vocab.json", "id 256 is used by two tokens"}); }
  { Small s; s.vocab["Ġth"] = -3; expect_load_error(s, {"vocab.json", "entry 'Ġth'", "out of range"}); }
  { Small s; s.vocab["a b"] = 300; expect_load_error(s, {"entry 'a b'", "not in GPT-2's byte-level alphabet"}); }
  { Small s; s.vocab.erase("Ā"); expect_load_error(s, {"byte-level token 'Ā' (byte 0) is missing"}); }
  {
    Small s;
    s.raw_vocab = s.vocab.dump();
    s.raw_vocab.insert(1, "\"Ġth\": 999, ");
    expect_load_error(s, {"vocab.json", "key 'Ġth' appears twice"});
  }
  { Small s; s.merges += "Ġ t x\n"; expect_load_error(s, {"merges.txt:4:", "expected two tokens"}); }
  { Small s; s.merges += "Ġth\n"; expect_load_error(s, {"merges.txt:4:", "expected two tokens"}); }
  { Small s; s.merges = "#version: 0.2\nĠ zz\n"; expect_load_error(s, {"merges.txt:2:", "merge part 'zz' is not in the vocabulary"}); }
  { Small s; s.merges += "a b\n"; expect_load_error(s, {"merges.txt:4:", "merge result 'ab' is not in the vocabulary"}); }
  { Small s; s.merges += "Ġ t\n"; expect_load_error(s, {"merges.txt:4:", "repeats rank 0"}); }
  EXPECT_THROW(Tokenizer::from_dir(temp_dir()), unl::Error);
  EXPECT_THROW(Tokenizer::from_files("/nonexistent/vocab.json", "/nonexistent/merges.txt"), unl::Error);
}

// Ids size dense tables, so an id far beyond the file's token count (2^31 would be a 64 GB
// table) is refused; the limit is 2 x 258 tokens + 1024 = 1540 for the small vocabulary.
TEST(TokenizerLimits, IdsBeyondWhatTheFileJustifiesAreRefused) {
  { Small s; s.vocab["Ġth"] = int64_t{1} << 31; expect_load_error(s, {"vocab.json", "entry 'Ġth'", "id 2147483648 is out of range", "[0, 1540)"}); }
  { Small s; s.vocab["Ġth"] = 1540; expect_load_error(s, {"vocab.json", "id 1540 is out of range"}); }
  {
    Small s;  // a hole below the limit is fine
    s.vocab["Ġth"] = 1539;
    s.write();
    Tokenizer t = Tokenizer::from_dir(s.dir);
    EXPECT_EQ(t.encode(" th"), (std::vector<int64_t>{1539}));
  }
  {
    Small s;  // tokenizer.json: an added token's id counts against the same limit (259 tokens)
    json j = {{"model", {{"type", "BPE"}, {"vocab", s.vocab}, {"merges", {"Ġ t", "Ġt h"}}}},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
              {"added_tokens", {{{"id", int64_t{1} << 40}, {"content", "<x>"}}}}};
    spit(s.dir + "/tokenizer.json", j.dump());
    try {
      Tokenizer::from_dir(s.dir);
      ADD_FAILURE() << "no error";
    } catch (const unl::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find("added token '<x>'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("id 1099511627776 is out of range: ids must lie in [0, 1542)"), std::string::npos) << msg;
    }
  }
}

// A tokenizer file over 1 GiB is refused from its size, before it is read (the file here is
// sparse, so the test writes nothing).
TEST(TokenizerLimits, OversizedFileIsRefusedBeforeReading) {
  Small s;
  s.write();
  std::filesystem::resize_file(s.dir + "/vocab.json", (uint64_t{1} << 30) + 1);
  try {
    Tokenizer::from_dir(s.dir);
    ADD_FAILURE() << "no error";
  } catch (const unl::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("vocab.json: 1073741825 bytes exceeds the tokenizer file limit of 1073741824 bytes"),
              std::string::npos)
        << msg;
  }
  std::filesystem::remove_all(s.dir);
}

TEST(Tokenizer, RejectsUnsupportedTokenizerJson) {
  auto expect_bad = [](const std::function<void(json&)>& edit, const std::string& needle) {
    Small s;
    json j = {{"model", {{"type", "BPE"}, {"vocab", s.vocab}, {"merges", {"Ġ t", "Ġt h"}}}},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}}};
    Tokenizer::from_dir([&] { spit(s.dir + "/tokenizer.json", j.dump()); return s.dir; }());  // valid
    edit(j);
    spit(s.dir + "/tokenizer.json", j.dump());
    try {
      Tokenizer::from_dir(s.dir);
      ADD_FAILURE() << "no error; expected " << needle;
    } catch (const unl::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "want '" << needle << "' in: " << msg;
    }
  };
  // tokenizer.json goes through unl::tokenizer: what it does not implement is refused by name.
  expect_bad([](json& j) { j["model"]["type"] = "Unigram"; }, "model type 'Unigram' is not supported");
  expect_bad([](json& j) { j["pre_tokenizer"] = {{"type", "UnicodeScripts"}}; }, "pre_tokenizer type 'UnicodeScripts'");
  expect_bad([](json& j) { j["normalizer"] = {{"type", "Precompiled"}}; }, "normalizer type 'Precompiled'");
  expect_bad([](json& j) { j["decoder"] = {{"type", "CTC"}}; }, "decoder type 'CTC'");
  expect_bad([](json& j) { j["model"]["merges"][1] = "Ġt"; }, "model.merges[1]");
  expect_bad([](json& j) { j["model"]["merges"][1] = json::array({"Ġt"}); }, "model.merges[1]");
  expect_bad([](json& j) { j["model"]["merges"][0] = json::array({"Ġ", "q!"}); }, "merge part 'q!'");
  expect_bad([](json& j) { j["model"]["dropout"] = 0.1; }, "model.dropout");
  expect_bad([](json& j) { j["model"].erase("vocab"); }, "missing field 'vocab'");
}

// What the GPT-2-only tokenizer.json loader used to refuse now loads: a Metaspace
// pre-tokenizer, add_prefix_space and an NFC normalizer are parts of other families' pipelines.
TEST(Tokenizer, TokenizerJsonOfOtherPipelinesLoads) {
  Small s;
  json j = {{"model", {{"type", "BPE"}, {"vocab", s.vocab}, {"merges", {"Ġ t", "Ġt h"}}}},
            {"normalizer", {{"type", "NFC"}}},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}}},
            {"decoder", {{"type", "ByteLevel"}}}};
  spit(s.dir + "/tokenizer.json", j.dump());
  Tokenizer t = Tokenizer::from_dir(s.dir);
  EXPECT_EQ(t.encode("the"), (std::vector<int64_t>{257, id_of("e")}));  // " the" after the prefix space
  EXPECT_EQ(t.decode({257, id_of("e")}), " the");
}

}  // namespace

namespace sentencepiece_golden {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A model directory that ships only tokenizer.model (Llama-2 style), loaded inside a binary that
// also links LibTorch (the two protobuf copies once crashed such a process before main). Golden ids
// from Debian's spm_encode (tests/golden/sentencepiece/gen.sh), never from our code.
TEST(Tokenizer, SentencePieceModelMatchesSpmEncode) {
  const std::string g = std::string(UNL_SOURCE_DIR) + "/tests/golden/sentencepiece";
  const std::string dir = temp_dir() + "/spm";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(g + "/tokenizer.model", dir + "/tokenizer.model");
  Tokenizer t = Tokenizer::from_dir(dir);
  EXPECT_EQ(t.vocab_size(), 400);
  const auto texts = lines(g + "/texts.txt");
  const auto ids = lines(g + "/ids.txt");
  ASSERT_EQ(texts.size(), ids.size());
  ASSERT_FALSE(texts.empty());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int64_t> want;
    std::istringstream in(ids[i]);
    for (int64_t id; in >> id;) want.push_back(id);
    EXPECT_EQ(t.encode(texts[i], false), want) << texts[i];
    auto with_bos = want;
    with_bos.insert(with_bos.begin(), 1);  // add_bos_token defaults to true, as LlamaTokenizer
    EXPECT_EQ(t.encode(texts[i], true), with_bos) << texts[i];
    EXPECT_EQ(t.decode(want), texts[i]);
  }
}

}  // namespace sentencepiece_golden
