// Question/answer and chat samples: the prompt and the response rendered (through the model's
// chat template, or joined plainly), tokenized, and the prompt's length found in the tokens.
#include "common/error.h"
#include "data/data.h"

namespace unl::data {

Sample encode_prompt_response(const std::vector<Message>& messages, const TextEncoder& encoder,
                              const std::string& separator, const std::string& at) {
  UNL_CHECK(messages.size() >= 2 && messages.back().role == "assistant",
            at + ": a prompt/response sample needs at least one prompt message and a final assistant message",
            "this is a bug in the caller");
  const std::vector<Message> prompt_messages(messages.begin(), messages.end() - 1);
  std::string prompt, full;
  TokenizeFn encode;
  if (encoder.render_chat) {
    // As transformers' apply_chat_template: the prompt is the conversation so far plus the
    // assistant header (add_generation_prompt), the sample the whole conversation.
    prompt = encoder.render_chat(prompt_messages, /*add_generation_prompt=*/true);
    full = encoder.render_chat(messages, /*add_generation_prompt=*/false);
    encode = encoder.tokenize_rendered;
    UNL_CHECK(full.compare(0, prompt.size(), prompt) == 0,
              at + ": the chat template does not render the prompt (with add_generation_prompt) as the start of "
                   "the conversation, so the response cannot be told apart",
              "set data.chat_template = \"none\" to join prompt and response with data.separator, or use a "
              "template whose assistant turn extends the generation prompt");
  } else {
    for (const auto& m : prompt_messages) prompt += m.content + separator;
    full = prompt + messages.back().content;
    encode = encoder.tokenize;
  }
  UNL_CHECK(static_cast<bool>(encode), at + ": prompt/response text but no tokenizer",
            "this is a bug in the caller: qa/chat data needs a TextEncoder");
  Sample s;
  s.text = full;
  s.tokens = encode(full);
  const auto prompt_tokens = encode(prompt);
  // Tokens are compared, not text: a BPE merge across the boundary (e.g. GPT-2's " Paris" after a
  // space separator) makes the merged token the first response token.
  size_t p = 0;
  while (p < prompt_tokens.size() && p < s.tokens.size() && prompt_tokens[p] == s.tokens[p]) ++p;
  UNL_CHECK(p < s.tokens.size(),
            at + ": the response adds no token after the " + std::to_string(p) + " prompt tokens",
            "give the line a non-empty response");
  s.prompt_len = static_cast<int64_t>(p);
  return s;
}

}  // namespace unl::data
