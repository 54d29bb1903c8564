// Field readers for tokenizer.json components: every type mismatch is an error with the path.
#include "tokenizer/json_fields.h"

#include "common/error.h"

namespace unl::tokenizer::fields {
namespace {
const char* kHint = "the tokenizer.json does not follow the Hugging Face tokenizers format";

std::string kind(const json& j) { return j.type_name(); }
}  // namespace

std::string type_of(const json& obj, const std::string& where) {
  UNL_CHECK(obj.is_object(), where + ": expected an object, got " + kind(obj), kHint);
  return required_string(obj, "type", where);
}

const json& required(const json& obj, const char* key, const std::string& where) {
  UNL_CHECK(obj.is_object(), where + ": expected an object, got " + kind(obj), kHint);
  auto it = obj.find(key);
  UNL_CHECK(it != obj.end() && !it->is_null(), where + ": missing field '" + key + "'", kHint);
  return *it;
}

bool boolean(const json& obj, const char* key, bool fallback, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  UNL_CHECK(it->is_boolean(), where + "." + key + ": expected true/false, got " + kind(*it), kHint);
  return it->get<bool>();
}

std::string string(const json& obj, const char* key, const std::string& fallback, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  UNL_CHECK(it->is_string(), where + "." + key + ": expected a string, got " + kind(*it), kHint);
  return it->get<std::string>();
}

std::optional<std::string> optional_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  UNL_CHECK(it->is_string(), where + "." + key + ": expected a string, got " + kind(*it), kHint);
  return it->get<std::string>();
}

int64_t integer(const json& obj, const char* key, int64_t fallback, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  UNL_CHECK(it->is_number_integer(), where + "." + key + ": expected an integer, got " + kind(*it), kHint);
  return it->get<int64_t>();
}

std::string required_string(const json& obj, const char* key, const std::string& where) {
  const json& v = required(obj, key, where);
  UNL_CHECK(v.is_string(), where + "." + key + ": expected a string, got " + kind(v), kHint);
  return v.get<std::string>();
}

const json& required_array(const json& obj, const char* key, const std::string& where) {
  const json& v = required(obj, key, where);
  UNL_CHECK(v.is_array(), where + "." + key + ": expected a list, got " + kind(v), kHint);
  return v;
}

namespace {
thread_local int nesting = 0;
}  // namespace

NestingGuard::NestingGuard(const std::string& where) {
  if (++nesting > kMaxNesting) {
    --nesting;
    UNL_THROW(where + ": components nested deeper than " + std::to_string(kMaxNesting) + " levels", kHint);
  }
}

NestingGuard::~NestingGuard() { --nesting; }

void unsupported(const std::string& what, const std::string& type, const std::string& where,
                 const std::string& supported) {
  UNL_THROW(where + ": " + what + " type '" + type + "' is not supported",
            "supported " + what + " types: " + supported + "; use a tokenizer whose tokenizer.json needs only these");
}

}  // namespace unl::tokenizer::fields
