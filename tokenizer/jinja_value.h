// The values a chat template computes with: Python's types as Jinja2 sees them (None, bool, int,
// float, str, list, dict, callables, undefined), with Python's str(), repr(), truth and equality.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace unl::tokenizer::jinja {

class Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python dicts
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(std::vector<Value>& args, Kwargs& kwargs)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kFunction };

  Value() = default;
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double f);
  static Value string(std::string s);
  static Value array(Array a = {});
  static Value object(Object o = {});
  static Value function(Function f);
  /// From JSON; throws TemplateError past 256 levels of nesting (untrusted data lines).
  static Value from_json(const nlohmann::ordered_json& j, int depth = 0);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_function() const { return kind_ == Kind::kFunction; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kFloat ? static_cast<int64_t>(f_) : kind_ == Kind::kBool ? b_ : i_; }
  double as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return s_; }
  Array& as_array() const { return *arr_; }
  Object& as_object() const { return *obj_; }
  const Function& as_function() const { return *fn_; }

  /// A dict's entry, or nullptr.
  const Value* get(const std::string& key) const;
  /// Set a dict entry (namespaces are dicts shared by reference).
  void set(const std::string& key, Value v) const;

  /// Python truth: empty containers, 0, "", None and undefined are false.
  bool truthy() const;
  /// str(value) as Jinja prints it ({{ x }}): None -> "None", undefined -> "".
  std::string str() const;
  /// repr(value), used inside printed lists and dicts.
  std::string repr(int depth = 0) const;
  /// json.dumps(value, ensure_ascii=False, indent) with Python's separators.
  std::string to_json(int indent = -1, int depth = 0) const;
  /// Python ==.
  bool equals(const Value& o, int depth = 0) const;
  const char* type_name() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<Array> arr_;
  std::shared_ptr<Object> obj_;
  std::shared_ptr<Function> fn_;
};

/// Python's repr of a float (shortest round-trip digits, ".0" for integral values).
std::string float_repr(double f);

}  // namespace unl::tokenizer::jinja

namespace unl::tokenizer::jinja {

/// A template evaluation error; the renderer adds the line and turns it into unl::Error.
struct TemplateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What raise_exception() throws: the template's own message for the user.
struct RaisedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace unl::tokenizer::jinja
