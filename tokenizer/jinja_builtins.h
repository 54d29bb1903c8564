// Jinja2's builtin filters and tests, Python's str/list/dict methods, and the globals chat
// templates call (namespace, range, raise_exception, strftime_now, dict).
#pragma once

#include "tokenizer/jinja_value.h"

#include <string>
#include <vector>

namespace unl::tokenizer::jinja {

/// `target | name(args)`; throws TemplateError naming an unknown filter.
Value apply_filter(const std::string& name, const Value& target, std::vector<Value>& args, Kwargs& kwargs);
/// `target is name(args)`; throws TemplateError naming an unknown test.
bool apply_test(const std::string& name, const Value& target, std::vector<Value>& args);
/// `target.name`: a dict entry, else a method bound to target, else undefined.
Value get_attribute(const Value& target, const std::string& name);
/// `target[key]` with Python indexing (negative list/string indices, dict keys).
Value get_item(const Value& target, const Value& key);
/// `target[start:stop:step]` on lists and strings (by code point).
Value get_slice(const Value& target, const Value& start, const Value& stop, const Value& step);
/// A global function (namespace, range, raise_exception, ...) or undefined.
Value get_global(const std::string& name);
/// Iterate a value as a for loop does: list items, dict keys, string characters.
std::vector<Value> iterate(const Value& v);

/// Python string helpers shared by the methods and the filters.
namespace py {
[[noreturn]] void fail(const std::string& what);
std::vector<std::string> code_points(const std::string& s);
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right);
std::string icu_case(const std::string& s, bool upper);
std::string py_title(const std::string& s, bool only_first);
std::vector<Value> py_split(const std::string& s, const Value& sep, int64_t maxsplit);
std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count);
const Value& arg(std::vector<Value>& args, Kwargs& kwargs, size_t i, const char* name);
Value attribute_or_item(const Value& v, const std::string& path);
int compare_values(const Value& a, const Value& b);
}  // namespace py

}  // namespace unl::tokenizer::jinja
