// data.format = qa / chat: rendering (plain join and a chat template), where the prompt ends in
// the tokens, errors naming file and line, truncation, ids + prompt_len lines, collation of
// prompt masks and the data set hash.
#include <gtest/gtest.h>

#include "common/hash.h"
#include "data/data.h"
#include "tests/unit/data/data_test_util.h"

namespace unl::data {
namespace {

using unl_data_test::bytes_tok;
using unl_data_test::tmp;
using unl_data_test::write_bytes;

DataSpec qa_spec(const std::string& path, const std::string& format = "qa") {
  DataSpec s;
  s.path = path;
  s.format = format;
  return s;
}

TextEncoder plain_encoder() {
  TextEncoder e;
  e.tokenize = bytes_tok;
  return e;
}

// A toy template: "<u>" + content + "</u>" per user message, "<a>" + content + "</a>" per
// assistant message, and "<a>" as the generation prompt.
TextEncoder template_encoder() {
  TextEncoder e;
  e.tokenize = [](std::string_view) -> std::vector<int64_t> {
    ADD_FAILURE() << "rendered text must go through tokenize_rendered";
    return {};
  };
  e.tokenize_rendered = bytes_tok;
  e.render_chat = [](const std::vector<Message>& messages, bool gen) {
    std::string s;
    for (const auto& m : messages) s += m.role == "user" ? "<u>" + m.content + "</u>" : "<a>" + m.content + "</a>";
    return gen ? s + "<a>" : s;
  };
  return e;
}

std::string error_of(const DataSpec& spec, const TextEncoder& e) {
  try {
    load_samples_encoded(spec, e, 300);
  } catch (const Error& err) {
    return err.what();
  }
  return "(no error)";
}

TEST(QaData, PlainJoinMarksThePromptAndItsSeparator) {
  const auto path = tmp("qa_plain.jsonl");
  write_bytes(path, "{\"question\": \"Who?\", \"answer\": \"Ann.\"}\n{\"id\": 9, \"q\": \"Q\", \"a\": \"A\", \"answer\": 1}\n");
  auto spec = qa_spec(path);
  spec.limit = 1;
  auto s = load_samples_encoded(spec, plain_encoder(), 300);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].text, "Who?\nAnn.");
  EXPECT_EQ(s[0].tokens, bytes_tok("Who?\nAnn."));
  EXPECT_EQ(s[0].prompt_len, 5);  // "Who?\n"
  // Other field names and separator.
  spec.limit = -1;
  spec.prompt_field = "q";
  spec.response_field = "a";
  spec.separator = " => ";
  write_bytes(path, "{\"id\": 9, \"q\": \"Q\", \"a\": \"A\"}\n");
  s = load_samples_encoded(spec, plain_encoder(), 300);
  EXPECT_EQ(s[0].id, 9);
  EXPECT_EQ(s[0].text, "Q => A");
  EXPECT_EQ(s[0].prompt_len, 5);
}

TEST(QaData, ChatTemplateRendersPromptWithGenerationPrompt) {
  const auto path = tmp("qa_template.jsonl");
  write_bytes(path, "{\"question\": \"Hi\", \"answer\": \"Yo\"}\n");
  auto s = load_samples_encoded(qa_spec(path), template_encoder(), 300);
  EXPECT_EQ(s[0].text, "<u>Hi</u><a>Yo</a>");
  EXPECT_EQ(s[0].prompt_len, 12);  // "<u>Hi</u><a>"
  // chat: earlier turns (an assistant turn included) are prompt; the last assistant turn is the response.
  write_bytes(path,
              "{\"messages\": [{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"assistant\", \"content\": \"B\"}, "
              "{\"role\": \"user\", \"content\": \"C\"}, {\"role\": \"assistant\", \"content\": \"D\"}]}\n");
  s = load_samples_encoded(qa_spec(path, "chat"), template_encoder(), 300);
  EXPECT_EQ(s[0].text, "<u>A</u><a>B</a><u>C</u><a>D</a>");
  EXPECT_EQ(s[0].prompt_len, static_cast<int64_t>(std::string("<u>A</u><a>B</a><u>C</u><a>").size()));
  // Without a template the contents are joined.
  s = load_samples_encoded(qa_spec(path, "chat"), plain_encoder(), 300);
  EXPECT_EQ(s[0].text, "A\nB\nC\nD");
  EXPECT_EQ(s[0].prompt_len, 6);
}

TEST(QaData, BoundaryMergeGoesToTheResponse) {
  // A tokenizer that merges "\nA" into one token (id 256): the prompt "Q\n" encodes as [Q, \n],
  // the whole as [Q, 256]; the common prefix is [Q], so the merged token is the first response token.
  TextEncoder e;
  e.tokenize = [](std::string_view s) {
    std::vector<int64_t> out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] == 'A') {
        out.push_back(256);
        ++i;
      } else {
        out.push_back(static_cast<unsigned char>(s[i]));
      }
    }
    return out;
  };
  const auto path = tmp("qa_merge.jsonl");
  write_bytes(path, "{\"question\": \"Q\", \"answer\": \"AB\"}\n");
  auto s = load_samples_encoded(qa_spec(path), e, 300);
  EXPECT_EQ(s[0].tokens, (std::vector<int64_t>{'Q', 256, 'B'}));
  EXPECT_EQ(s[0].prompt_len, 1);
}

TEST(QaData, ErrorsNameFileLineAndField) {
  const auto path = tmp("qa_bad.jsonl");
  write_bytes(path, "{\"question\": \"Q\", \"answer\": \"A\"}\n\n{\"question\": \"Q2\"}\n");
  auto err = error_of(qa_spec(path), plain_encoder());
  EXPECT_NE(err.find(path + ":3: no \"answer\" field"), std::string::npos) << err;
  EXPECT_NE(err.find("data.response_field"), std::string::npos) << err;
  write_bytes(path, "{\"question\": 5, \"answer\": \"A\"}\n");
  err = error_of(qa_spec(path), plain_encoder());
  EXPECT_NE(err.find(path + ":1: field \"question\" must be a string"), std::string::npos) << err;
  write_bytes(path, "{\"question\": \"Q\", \"answer\": \"\"}\n");
  err = error_of(qa_spec(path), plain_encoder());
  EXPECT_NE(err.find(path + ":1: empty \"answer\""), std::string::npos) << err;
  write_bytes(path, "{\"messages\": [{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"user\", \"content\": \"B\"}]}\n");
  err = error_of(qa_spec(path, "chat"), plain_encoder());
  EXPECT_NE(err.find(path + ":1: the last message must be a non-empty \"assistant\" message"), std::string::npos) << err;
  write_bytes(path, "{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", \"content\": \"B\"}]}\n");
  err = error_of(qa_spec(path, "chat"), plain_encoder());
  EXPECT_NE(err.find(path + ":1: message 0 is not"), std::string::npos) << err;
  write_bytes(path, "{\"text\": \"hello\"}\n");
  err = error_of(qa_spec(path, "chat"), plain_encoder());
  EXPECT_NE(err.find(path + ":1: no \"messages\" field"), std::string::npos) << err;
  // A template that does not extend its own generation prompt.
  auto bad = template_encoder();
  bad.render_chat = [](const std::vector<Message>& m, bool gen) { return gen ? "[" + m[0].content : m[0].content + "]"; };
  write_bytes(path, "{\"question\": \"Q\", \"answer\": \"A\"}\n");
  err = error_of(qa_spec(path), bad);
  EXPECT_NE(err.find(path + ":1: the chat template does not render the prompt"), std::string::npos) << err;
  // Truncation that leaves no response.
  auto spec = qa_spec(path);
  spec.max_tokens = 2;
  write_bytes(path, "{\"question\": \"Long\", \"answer\": \"A\"}\n");
  err = error_of(spec, plain_encoder());
  EXPECT_NE(err.find(path + ":1: the prompt alone is 5 tokens"), std::string::npos) << err;
  // prompt_len out of range on an ids line.
  write_bytes(path, "{\"ids\": [1, 2], \"prompt_len\": 2}\n");
  err = error_of(qa_spec(path), plain_encoder());
  EXPECT_NE(err.find(path + ":1: \"prompt_len\" must be an integer in [0, 2)"), std::string::npos) << err;
}

TEST(QaData, TruncationKeepsThePrompt) {
  const auto path = tmp("qa_trunc.jsonl");
  write_bytes(path, "{\"question\": \"Q\", \"answer\": \"ABCDEF\"}\n");
  auto spec = qa_spec(path);
  spec.max_tokens = 4;
  auto s = load_samples_encoded(spec, plain_encoder(), 300);
  EXPECT_EQ(s[0].tokens, bytes_tok("Q\nAB"));
  EXPECT_EQ(s[0].prompt_len, 2);
}

TEST(QaData, IdsWithPromptLenRoundTripThroughWriteJsonl) {
  const auto path = tmp("qa_ids.jsonl");
  std::vector<Sample> in(2);
  in[0].id = 4, in[0].tokens = {5, 6, 7}, in[0].prompt_len = 2;
  in[1].id = 8, in[1].tokens = {9, 10}, in[1].text = "plain";
  in[1].tokens = bytes_tok("plain");
  write_jsonl(path, in);
  auto out = load_samples_encoded(qa_spec(path, "jsonl"), plain_encoder(), 300);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tokens, in[0].tokens);
  EXPECT_EQ(out[0].prompt_len, 2);
  EXPECT_EQ(out[1].tokens, bytes_tok("plain"));
  EXPECT_EQ(out[1].prompt_len, 0);
}

TEST(QaData, CollateMarksPromptTokens) {
  std::vector<std::vector<int64_t>> rows = {{1, 2, 3, 4}, {5, 6}};
  auto c = collate(rows, 0, /*left_pad=*/true, -1, {3, 1});
  auto expected = torch::tensor({kMaskPrompt, kMaskPrompt, kMaskPrompt, kMaskToken,  //
                                 kMaskPad, kMaskPad, kMaskPrompt, kMaskToken},
                                torch::kInt64).view({2, 4});
  EXPECT_TRUE(torch::equal(c.mask, expected)) << c.mask;
  auto r = collate(rows, 0, /*left_pad=*/false, -1, {0, 1});
  auto expected_r = torch::tensor({kMaskToken, kMaskToken, kMaskToken, kMaskToken,  //
                                   kMaskPrompt, kMaskToken, kMaskPad, kMaskPad},
                                  torch::kInt64).view({2, 4});
  EXPECT_TRUE(torch::equal(r.mask, expected_r)) << r.mask;
  EXPECT_THROW(collate(rows, 0, true, -1, {1}), Error);
}

TEST(QaData, HashCoversPromptLengthAndKeepsTextHashes) {
  Sample a;
  a.id = 1, a.tokens = {3, 4, 5};
  // The text hash as it was computed before prompts existed: id, length, tokens.
  Hasher h;
  h.update(&a.id, sizeof a.id);
  const int64_t n = 3;
  h.update(&n, sizeof n);
  h.update(a.tokens.data(), 3 * sizeof(int64_t));
  EXPECT_EQ(dataset_hash({a}), hex64(h.digest()));
  Sample b = a;
  b.prompt_len = 1;
  Sample c = a;
  c.prompt_len = 2;
  EXPECT_NE(dataset_hash({a}), dataset_hash({b}));
  EXPECT_NE(dataset_hash({b}), dataset_hash({c}));
}

}  // namespace
}  // namespace unl::data
