// Builtins with Python/Jinja2 semantics. Strings index, slice and strip by code point, as Python
// strings do; case mapping goes through ICU.
#include "tokenizer/jinja_builtins.h"

#include "tokenizer/unicode.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

namespace unl::tokenizer::jinja {
namespace py {

[[noreturn]] void fail(const std::string& what) { throw TemplateError(what); }

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    unicode::next_code_point(s, i);
    out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool is_space_cp(const std::string& ch) {
  size_t i = 0;
  return unicode::is_whitespace(unicode::next_code_point(ch, i));
}

// Python str.strip / lstrip / rstrip: whitespace, or any character of `chars`.
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
  const auto cps = code_points(s);
  const auto set = chars.is_string() ? code_points(chars.as_string()) : std::vector<std::string>{};
  auto strip_it = [&](const std::string& c) {
    return chars.is_string() ? std::find(set.begin(), set.end(), c) != set.end() : is_space_cp(c);
  };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  std::string out;
  for (size_t k = b; k < e; ++k) out += cps[k];
  return out;
}

std::string icu_case(const std::string& s, bool upper) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  if (upper) u.toUpper(icu::Locale::getRoot());
  else u.toLower(icu::Locale::getRoot());
  std::string out;
  u.toUTF8String(out);
  return out;
}

std::string py_title(const std::string& s, bool only_first) {
  std::string out;
  bool prev_cased = false;
  bool first = true;
  for (const auto& c : code_points(s)) {
    size_t i = 0;
    const auto cp = static_cast<UChar32>(unicode::next_code_point(c, i));
    const bool upper = only_first ? first : !prev_cased;
    out += icu_case(c, upper);
    prev_cased = u_hasBinaryProperty(cp, UCHAR_CASED) || (u_hasBinaryProperty(cp, UCHAR_CASE_IGNORABLE) && prev_cased);
    first = false;
  }
  return out;
}

std::vector<Value> py_split(const std::string& s, const Value& sep, int64_t maxsplit) {
  std::vector<Value> out;
  if (!sep.is_string()) {
    // Runs of whitespace separate; no empty strings.
    const auto cps = code_points(s);
    std::string cur;
    bool in_word = false;
    int64_t splits = 0;
    for (size_t k = 0; k < cps.size(); ++k) {
      if (is_space_cp(cps[k]) && (maxsplit < 0 || splits < maxsplit)) {
        if (in_word) out.push_back(Value::string(cur)), cur.clear(), in_word = false, ++splits;
      } else {
        if (!in_word && maxsplit >= 0 && splits >= maxsplit) {
          std::string rest;
          for (size_t r = k; r < cps.size(); ++r) rest += cps[r];
          out.push_back(Value::string(py_strip(rest, Value(), false, true)));
          return out;
        }
        cur += cps[k];
        in_word = true;
      }
    }
    if (in_word) out.push_back(Value::string(cur));
    return out;
  }
  const std::string& d = sep.as_string();
  if (d.empty()) fail("split(): empty separator");
  size_t pos = 0;
  int64_t splits = 0;
  while (maxsplit < 0 || splits < maxsplit) {
    const size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    out.push_back(Value::string(s.substr(pos, hit - pos)));
    pos = hit + d.size();
    ++splits;
  }
  out.push_back(Value::string(s.substr(pos)));
  return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (int64_t n = 0; count < 0 || n < count; ++n) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos) += to;
    pos = hit + from.size();
  }
  return out + s.substr(pos);
}

const Value& arg(std::vector<Value>& args, Kwargs& kwargs, size_t i, const char* name) {
  static const Value undefined;
  for (const auto& [k, v] : kwargs)
    if (k == name) return v;
  return i < args.size() ? args[i] : undefined;
}

int64_t normalize_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

Value attribute_or_item(const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    cur = get_attribute(cur, part);
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_float() < b.as_float() ? -1 : a.as_float() > b.as_float() ? 1 : 0;
  if (a.is_string() && b.is_string()) return a.as_string().compare(b.as_string());
  if (a.is_bool() && b.is_bool()) return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
  fail(std::string("cannot compare ") + a.type_name() + " with " + b.type_name());
}

}  // namespace py

namespace {
using namespace py;

Value method(const Value& self, const std::string& name) {
  if (self.is_string()) {
    const std::string s = self.as_string();
    if (name == "strip" || name == "lstrip" || name == "rstrip")
      return Value::function([s, name](std::vector<Value>& a, Kwargs&) {
        const Value chars = a.empty() ? Value() : a[0];
        return Value::string(py_strip(s, chars, name != "rstrip", name != "lstrip"));
      });
    if (name == "split" || name == "rsplit")
      return Value::function([s, name](std::vector<Value>& a, Kwargs& kw) {
        const Value& sep = arg(a, kw, 0, "sep");
        const Value& max = arg(a, kw, 1, "maxsplit");
        if (name == "rsplit" && max.is_int() && max.as_int() >= 0) fail("rsplit with maxsplit is not supported");
        return Value::array(py_split(s, sep, max.is_int() ? max.as_int() : -1));
      });
    if (name == "startswith" || name == "endswith")
      return Value::function([s, name](std::vector<Value>& a, Kwargs&) {
        if (a.empty()) fail(name + "() needs an argument");
        std::vector<Value> options = a[0].is_array() ? a[0].as_array() : std::vector<Value>{a[0]};
        for (const auto& o : options) {
          if (!o.is_string()) fail(name + "() needs strings");
          const std::string& p = o.as_string();
          if (p.size() <= s.size() && (name == "startswith" ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0))
            return Value::boolean(true);
        }
        return Value::boolean(false);
      });
    if (name == "upper" || name == "lower")
      return Value::function([s, name](std::vector<Value>&, Kwargs&) { return Value::string(icu_case(s, name == "upper")); });
    if (name == "title" || name == "capitalize")
      return Value::function([s, name](std::vector<Value>&, Kwargs&) {
        return Value::string(name == "title" ? py_title(s, false) : py_title(icu_case(s, false), true));
      });
    if (name == "replace")
      return Value::function([s](std::vector<Value>& a, Kwargs&) {
        if (a.size() < 2 || !a[0].is_string() || !a[1].is_string()) fail("replace() needs two strings");
        return Value::string(py_replace(s, a[0].as_string(), a[1].as_string(), a.size() > 2 ? a[2].as_int() : -1));
      });
    if (name == "find" || name == "rfind" || name == "count" || name == "index")
      return Value::function([s, name](std::vector<Value>& a, Kwargs&) {
        if (a.empty() || !a[0].is_string()) fail(name + "() needs a string");
        const std::string& sub = a[0].as_string();
        if (name == "count") {
          int64_t n = 0;
          if (sub.empty()) return Value::integer(static_cast<int64_t>(unicode::count_code_points(s)) + 1);
          for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
          return Value::integer(n);
        }
        const size_t hit = name == "rfind" ? s.rfind(sub) : s.find(sub);
        if (hit == std::string::npos) {
          if (name == "index") fail("substring not found");
          return Value::integer(-1);
        }
        return Value::integer(static_cast<int64_t>(unicode::count_code_points(s.substr(0, hit))));
      });
    if (name == "join")
      return Value::function([s](std::vector<Value>& a, Kwargs&) {
        if (a.empty()) fail("join() needs an iterable");
        std::string out;
        const auto items = iterate(a[0]);
        for (size_t k = 0; k < items.size(); ++k) out += (k ? s : "") + items[k].str();
        return Value::string(out);
      });
    if (name == "splitlines")
      return Value::function([s](std::vector<Value>&, Kwargs&) {
        std::vector<Value> out;
        size_t pos = 0;
        while (pos < s.size()) {
          size_t nl = s.find_first_of("\r\n", pos);
          if (nl == std::string::npos) {
            out.push_back(Value::string(s.substr(pos)));
            break;
          }
          out.push_back(Value::string(s.substr(pos, nl - pos)));
          pos = nl + (s.compare(nl, 2, "\r\n") == 0 ? 2 : 1);
        }
        return Value::array(out);
      });
    if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum" || name == "isupper" || name == "islower")
      return Value::function([s, name](std::vector<Value>&, Kwargs&) {
        if (s.empty()) return Value::boolean(false);
        if (name == "isupper" || name == "islower") return Value::boolean(icu_case(s, name == "isupper") == s && icu_case(s, name != "isupper") != s);
        for (const auto& c : code_points(s)) {
          size_t i = 0;
          const auto cp = static_cast<UChar32>(unicode::next_code_point(c, i));
          const bool ok = name == "isdigit" ? u_isdigit(cp) : name == "isspace" ? unicode::is_whitespace(cp)
                        : name == "isalpha" ? u_isalpha(cp) : (u_isalpha(cp) || u_isdigit(cp));
          if (!ok) return Value::boolean(false);
        }
        return Value::boolean(true);
      });
  }
  if (self.is_object()) {
    if (name == "items" || name == "keys" || name == "values")
      return Value::function([self, name](std::vector<Value>&, Kwargs&) {
        std::vector<Value> out;
        for (const auto& [k, v] : self.as_object()) {
          if (name == "items") out.push_back(Value::array({Value::string(k), v}));
          else out.push_back(name == "keys" ? Value::string(k) : v);
        }
        return Value::array(out);
      });
    if (name == "update")
      return Value::function([self](std::vector<Value>& a, Kwargs& kw) {
        for (const auto& v : a) {
          if (!v.is_object()) fail("update() needs a dict");
          for (const auto& [k, x] : v.as_object()) self.set(k, x);
        }
        for (const auto& [k, x] : kw) self.set(k, x);
        return Value::none();
      });
    if (name == "get")
      return Value::function([self](std::vector<Value>& a, Kwargs&) {
        if (a.empty() || !a[0].is_string()) return a.size() > 1 ? a[1] : Value::none();
        const Value* v = self.get(a[0].as_string());
        return v ? *v : (a.size() > 1 ? a[1] : Value::none());
      });
  }
  if (self.is_array()) {
    if (name == "append")
      return Value::function([self](std::vector<Value>& a, Kwargs&) {
        if (a.size() != 1) fail("append() takes one argument");
        self.as_array().push_back(a[0]);
        return Value::none();
      });
    if (name == "extend")
      return Value::function([self](std::vector<Value>& a, Kwargs&) {
        if (a.size() != 1) fail("extend() takes one argument");
        for (const auto& v : iterate(a[0])) self.as_array().push_back(v);
        return Value::none();
      });
    if (name == "pop")
      return Value::function([self](std::vector<Value>& a, Kwargs&) {
        auto& arr = self.as_array();
        if (arr.empty()) fail("pop from empty list");
        const int64_t n = static_cast<int64_t>(arr.size());
        const int64_t i = normalize_index(a.empty() ? -1 : a[0].as_int(), n);
        if (i < 0 || i >= n) fail("pop index out of range");
        Value v = arr[i];
        arr.erase(arr.begin() + i);
        return v;
      });
    if (name == "index" || name == "count")
      return Value::function([self, name](std::vector<Value>& a, Kwargs&) {
        if (a.empty()) fail(name + "() needs an argument");
        int64_t n = 0, first = -1;
        const auto& arr = self.as_array();
        for (size_t k = 0; k < arr.size(); ++k)
          if (arr[k].equals(a[0])) first = first < 0 ? static_cast<int64_t>(k) : first, ++n;
        if (name == "count") return Value::integer(n);
        if (first < 0) fail("value not in list");
        return Value::integer(first);
      });
  }
  return Value();
}

}  // namespace

std::vector<Value> iterate(const Value& v) {
  if (v.is_array()) return v.as_array();
  if (v.is_object()) {
    std::vector<Value> keys;
    for (const auto& [k, _] : v.as_object()) keys.push_back(Value::string(k));
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> out;
    for (auto& c : code_points(v.as_string())) out.push_back(Value::string(c));
    return out;
  }
  if (v.is_undefined() || v.is_none()) return {};
  fail(std::string("'") + v.type_name() + "' object is not iterable");
}

Value get_attribute(const Value& target, const std::string& name) {
  if (target.is_object()) {
    if (const Value* v = target.get(name)) return *v;
  }
  if (target.is_array() && !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])))
    return get_item(target, Value::integer(std::stoll(name)));
  return method(target, name);
}

Value get_item(const Value& target, const Value& key) {
  if (target.is_object()) {
    if (!key.is_string()) return Value();
    const Value* v = target.get(key.as_string());
    return v ? *v : Value();
  }
  if (target.is_array() || target.is_string()) {
    if (!key.is_int()) {
      if (key.is_string()) return get_attribute(target, key.as_string());
      fail("list indices must be integers");
    }
    if (target.is_array()) {
      const auto& a = target.as_array();
      const int64_t i = normalize_index(key.as_int(), static_cast<int64_t>(a.size()));
      return i >= 0 && i < static_cast<int64_t>(a.size()) ? a[i] : Value();
    }
    const auto cps = code_points(target.as_string());
    const int64_t i = normalize_index(key.as_int(), static_cast<int64_t>(cps.size()));
    return i >= 0 && i < static_cast<int64_t>(cps.size()) ? Value::string(cps[i]) : Value();
  }
  return Value();
}

Value get_slice(const Value& target, const Value& start, const Value& stop, const Value& step_v) {
  std::vector<Value> items;
  if (target.is_array()) items = target.as_array();
  else if (target.is_string()) items = iterate(target);
  else fail(std::string("cannot slice a ") + target.type_name());
  const int64_t n = static_cast<int64_t>(items.size());
  const int64_t step = step_v.is_int() ? step_v.as_int() : 1;
  if (step == 0) fail("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t def) {
    if (!v.is_int()) return def;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    return step > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t b = clamp(start, step > 0 ? 0 : n - 1), e = clamp(stop, step > 0 ? n : -1);
  std::vector<Value> out;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) out.push_back(items[i]);
  if (target.is_array()) return Value::array(out);
  std::string s;
  for (const auto& v : out) s += v.as_string();
  return Value::string(s);
}

}  // namespace unl::tokenizer::jinja
