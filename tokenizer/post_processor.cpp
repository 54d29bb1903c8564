// The post-processors of tokenizers (processors/*.rs) for single sequences: ids only, since we
// keep no offsets (ByteLevel's offset trimming has nothing to trim).
#include "tokenizer/post_processor.h"

#include "common/error.h"
#include "tokenizer/json_fields.h"

namespace unl::tokenizer {
namespace {

using nlohmann::json;
const char* kHint = "the tokenizer.json does not follow the Hugging Face tokenizers format";

class NoOp : public PostProcessor {
 public:
  void process(std::vector<int64_t>&) const override {}
};

// [cls] A [sep] (Roberta and Bert differ only in offsets and type ids).
class Wrap : public PostProcessor {
 public:
  Wrap(int64_t cls, int64_t sep) : cls_(cls), sep_(sep) {}
  void process(std::vector<int64_t>& ids) const override {
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  int64_t cls_, sep_;
};

// The "single" template: a list of {"SpecialToken": {"id": name}} and {"Sequence": {"id": "A"}}.
class Template : public PostProcessor {
 public:
  Template(const json& j, const std::string& where) {
    const json& single = fields::required(j, "single", where);
    const json& specials = j.contains("special_tokens") && !j["special_tokens"].is_null() ? j["special_tokens"] : json::object();
    UNL_CHECK(specials.is_object(), where + ".special_tokens: expected an object", kHint);
    auto special_ids = [&](const std::string& name, const std::string& at) {
      auto it = specials.find(name);
      UNL_CHECK(it != specials.end(), at + ": special token '" + name + "' is not in special_tokens", kHint);
      const json& ids = fields::required_array(*it, "ids", where + ".special_tokens." + name);
      std::vector<int64_t> out;
      for (const auto& id : ids) {
        UNL_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0,
                  where + ".special_tokens." + name + ".ids: expected non-negative integers", kHint);
        out.push_back(id.get<int64_t>());
      }
      return out;
    };
    if (single.is_string()) {
      // The compact form "[CLS]:0 $A:0 [SEP]:0".
      const std::string s = single.get<std::string>();
      size_t pos = 0;
      while (pos < s.size()) {
        const size_t end = std::min(s.find(' ', pos), s.size());
        std::string item = s.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        const size_t colon = item.rfind(':');
        if (colon != std::string::npos && colon > 0) item = item.substr(0, colon);
        if (item == "$A" || item == "$" || item == "$0") parts_.push_back({true, {}});
        else if (item[0] == '$') UNL_THROW(where + ".single: '" + item + "' refers to a second sequence", "a single template may only use $A");
        else parts_.push_back({false, special_ids(item, where + ".single")});
      }
      return;
    }
    UNL_CHECK(single.is_array(), where + ".single: expected a list or a string", kHint);
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string at = where + ".single[" + std::to_string(i) + "]";
      const json& piece = single[i];
      if (piece.is_object() && piece.contains("SpecialToken")) {
        parts_.push_back({false, special_ids(fields::required_string(piece["SpecialToken"], "id", at + ".SpecialToken"), at)});
      } else if (piece.is_object() && piece.contains("Sequence")) {
        const std::string id = fields::required_string(piece["Sequence"], "id", at + ".Sequence");
        UNL_CHECK(id == "A", at + ": sequence '" + id + "' in a single template", "a single template may only use sequence A");
        parts_.push_back({true, {}});
      } else {
        UNL_THROW(at + ": expected {\"SpecialToken\": ...} or {\"Sequence\": ...}, got " + piece.dump(), kHint);
      }
    }
  }
  void process(std::vector<int64_t>& ids) const override {
    std::vector<int64_t> out;
    out.reserve(ids.size() + 4);
    for (const auto& [is_sequence, special] : parts_) {
      if (is_sequence) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), special.begin(), special.end());
    }
    ids.swap(out);
  }

 private:
  std::vector<std::pair<bool, std::vector<int64_t>>> parts_;
};

class SequencePost : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(std::vector<int64_t>& ids) const override {
    for (const auto& p : parts_) p->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

int64_t pair_id(const json& j, const char* key, const std::string& where) {
  const json& v = fields::required(j, key, where);
  UNL_CHECK(v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_number_integer() && v[1].get<int64_t>() >= 0,
            where + "." + key + ": expected [token, id], got " + v.dump(), kHint);
  return v[1].get<int64_t>();
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& where) {
  const fields::NestingGuard guard(where);
  const std::string type = fields::type_of(j, where);
  if (type == "ByteLevel") return std::make_unique<NoOp>();
  if (type == "TemplateProcessing") return std::make_unique<Template>(j, where);
  if (type == "RobertaProcessing" || type == "BertProcessing")
    return std::make_unique<Wrap>(pair_id(j, "cls", where), pair_id(j, "sep", where));
  if (type == "Sequence") {
    const json& list = fields::required_array(j, "processors", where);
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]"));
    return std::make_unique<SequencePost>(std::move(parts));
  }
  fields::unsupported("post_processor", type, where,
                      "TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence");
}

}  // namespace unl::tokenizer
