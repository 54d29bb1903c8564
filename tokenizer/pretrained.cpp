// A model directory's tokenizer: which file to load, what tokenizer_config.json adds (special
// tokens, clean-up, chat template), and saving it back by copying the files.
#include "common/error.h"
#include "tokenizer/file_io.h"
#include "tokenizer/jinja.h"
#include "tokenizer/tokenizer.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace unl::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

// A special token in tokenizer_config.json: a string or an AddedToken object {"content": ...}.
std::optional<std::string> token_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  UNL_CHECK(it->is_object() && it->contains("content") && (*it)["content"].is_string(),
            where + key + ": expected a string or {\"content\": ...}, got " + it->dump(), "fix tokenizer_config.json");
  return (*it)["content"].get<std::string>();
}

json read_json(const std::string& path) {
  json j = json::parse(read_tokenizer_file(path), nullptr, false);
  UNL_CHECK(!j.is_discarded() && j.is_object(), path + ": not a JSON object", "the file is truncated or corrupt");
  return j;
}

// chat_template: a string, or a list of {"name", "template"} of which "default" is used.
std::optional<std::string> template_field(const json& j, const std::string& where) {
  auto it = j.find("chat_template");
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  UNL_CHECK(it->is_array(), where + "chat_template: expected a string or a list of {name, template}", "fix the file");
  std::optional<std::string> first;
  for (const auto& t : *it) {
    UNL_CHECK(t.is_object() && t.contains("name") && t.contains("template") && t["template"].is_string(),
              where + "chat_template: list entries need 'name' and 'template'", "fix the file");
    if (t["name"] == "default") return t["template"].get<std::string>();
    if (!first) first = t["template"].get<std::string>();
  }
  return first;
}

}  // namespace

std::string clean_up_tokenization(const std::string& text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string s = text;
  for (const auto& [from, to] : kRules) {
    std::string out;
    const size_t n = std::strlen(from);
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + n) out.append(s, pos, hit - pos) += to;
    out.append(s, pos, std::string::npos);
    s.swap(out);
  }
  return s;
}

TokenizerConfig TokenizerConfig::from_dir(const std::string& dir) {
  TokenizerConfig c;
  const fs::path d(dir);
  if (fs::exists(d / "tokenizer_config.json")) {
    const std::string path = (d / "tokenizer_config.json").string();
    const json j = read_json(path);
    const std::string where = path + ": ";
    c.bos_token = token_field(j, "bos_token", where);
    c.eos_token = token_field(j, "eos_token", where);
    c.unk_token = token_field(j, "unk_token", where);
    c.pad_token = token_field(j, "pad_token", where);
    c.chat_template = template_field(j, where);
    if (j.contains("clean_up_tokenization_spaces") && j["clean_up_tokenization_spaces"].is_boolean())
      c.clean_up_tokenization_spaces = j["clean_up_tokenization_spaces"].get<bool>();
    if (j.contains("add_bos_token") && j["add_bos_token"].is_boolean()) c.add_bos_token = j["add_bos_token"].get<bool>();
    if (j.contains("add_eos_token") && j["add_eos_token"].is_boolean()) c.add_eos_token = j["add_eos_token"].get<bool>();
  }
  // Newer transformers write the template to its own file.
  if (!c.chat_template && fs::exists(d / "chat_template.jinja"))
    c.chat_template = read_tokenizer_file((d / "chat_template.jinja").string());
  if (!c.chat_template && fs::exists(d / "chat_template.json")) {
    const std::string path = (d / "chat_template.json").string();
    c.chat_template = template_field(read_json(path), path + ": ");
  }
  return c;
}

bool Pretrained::present_in(const std::string& dir) {
  return fs::exists(fs::path(dir) / "tokenizer.json") || fs::exists(fs::path(dir) / "tokenizer.model");
}

Pretrained Pretrained::from_dir(const std::string& dir) {
  const fs::path d(dir);
  Pretrained p;
  p.config_ = TokenizerConfig::from_dir(dir);
  if (fs::exists(d / "tokenizer.json")) {
    p.tokenizer_ = load_tokenizer_json((d / "tokenizer.json").string());
    p.files_.push_back((d / "tokenizer.json").string());
  } else {
    UNL_CHECK(fs::exists(d / "tokenizer.model"), dir + ": no tokenizer.json or tokenizer.model",
              "copy the model's tokenizer files into its directory");
    // transformers' Llama/Mistral slow tokenizers add BOS and not EOS unless the config says otherwise.
    p.tokenizer_ = load_sentencepiece((d / "tokenizer.model").string(), p.config_.add_bos_token.value_or(true),
                                      p.config_.add_eos_token.value_or(false));
    p.files_.push_back((d / "tokenizer.model").string());
  }
  for (const char* extra : {"tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "chat_template.json"})
    if (fs::exists(d / extra)) p.files_.push_back((d / extra).string());
  return p;
}

std::string Pretrained::decode(const std::vector<int64_t>& ids, bool skip_special_tokens, bool clean_up) const {
  std::string text = tokenizer_->decode(ids, skip_special_tokens);
  return clean_up && config_.clean_up_tokenization_spaces ? clean_up_tokenization(text) : text;
}

std::optional<int64_t> Pretrained::bos_id() const {
  return config_.bos_token ? tokenizer_->token_to_id(*config_.bos_token) : std::nullopt;
}

std::optional<int64_t> Pretrained::eos_id() const {
  return config_.eos_token ? tokenizer_->token_to_id(*config_.eos_token) : std::nullopt;
}

std::string Pretrained::apply_chat_template(const ordered_json& messages, bool add_generation_prompt,
                                            const ordered_json& kwargs) const {
  UNL_CHECK(config_.chat_template, "this tokenizer has no chat template",
            "add chat_template to tokenizer_config.json, or use plain text data");
  UNL_CHECK(messages.is_array(), "chat messages must be a JSON list of {\"role\", \"content\"}", "fix the data");
  UNL_CHECK(kwargs.is_object(), "chat_template_kwargs must be a JSON object", "fix the data");
  // The variables transformers passes: the special tokens, the messages, the flag, the kwargs.
  ordered_json context = ordered_json::object();
  const std::pair<const char*, const std::optional<std::string>*> specials[] = {
      {"bos_token", &config_.bos_token}, {"eos_token", &config_.eos_token},
      {"unk_token", &config_.unk_token}, {"pad_token", &config_.pad_token}};
  for (const auto& [name, value] : specials)
    if (*value) context[name] = **value;
  context["messages"] = messages;
  context["add_generation_prompt"] = add_generation_prompt;
  for (auto it = kwargs.begin(); it != kwargs.end(); ++it) context[it.key()] = it.value();
  return jinja::render(*config_.chat_template, context, "chat template: ");
}

void Pretrained::save(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  UNL_CHECK(!ec, dir + ": cannot create directory (" + ec.message() + ")", "check permissions");
  for (const auto& f : files_) {
    const fs::path to = fs::path(dir) / fs::path(f).filename();
    if (fs::exists(to) && fs::equivalent(f, to)) continue;
    fs::copy_file(f, to, fs::copy_options::overwrite_existing, ec);
    UNL_CHECK(!ec, "cannot copy " + f + " to " + to.string() + " (" + ec.message() + ")", "check free disk space and permissions");
  }
}

}  // namespace unl::tokenizer
