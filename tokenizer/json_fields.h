// Typed access to the fields of a tokenizer.json object with errors that name the file and the
// JSON path ("tokenizer.json: pre_tokenizer.pretokenizers[1].behavior: ...").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace unl::tokenizer::fields {

using json = nlohmann::json;

/// The object's "type" string; `where` is its path.
std::string type_of(const json& obj, const std::string& where);
/// A required field.
const json& required(const json& obj, const char* key, const std::string& where);
/// Optional fields: absent or null gives `fallback`, a wrong JSON type is an error.
bool boolean(const json& obj, const char* key, bool fallback, const std::string& where);
std::string string(const json& obj, const char* key, const std::string& fallback, const std::string& where);
std::optional<std::string> optional_string(const json& obj, const char* key, const std::string& where);
int64_t integer(const json& obj, const char* key, int64_t fallback, const std::string& where);
/// A required string field.
std::string required_string(const json& obj, const char* key, const std::string& where);
/// A required array field.
const json& required_array(const json& obj, const char* key, const std::string& where);

/// Counts nested component factories (Sequence in Sequence ...) on this thread and refuses
/// more than kMaxNesting levels, so a hostile file cannot exhaust the stack.
class NestingGuard {
 public:
  static constexpr int kMaxNesting = 64;
  explicit NestingGuard(const std::string& where);
  ~NestingGuard();
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;
};

/// Refuse a component type we do not implement, naming it and the supported ones.
[[noreturn]] void unsupported(const std::string& what, const std::string& type, const std::string& where,
                              const std::string& supported);

}  // namespace unl::tokenizer::fields
