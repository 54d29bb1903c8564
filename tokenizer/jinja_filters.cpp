// Jinja2's builtin filters and tests, and the global functions chat templates call, with the
// behaviour transformers gives them (tojson keeps non-ASCII and key order, like json.dumps).
#include "tokenizer/jinja_builtins.h"

#include "tokenizer/unicode.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

namespace unl::tokenizer::jinja {

using namespace py;

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<Value> as_list(const Value& v) { return iterate(v); }

// select / reject / selectattr / rejectattr.
Value filter_by_test(const Value& target, std::vector<Value>& args, bool by_attribute, bool keep) {
  std::vector<Value> out;
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.empty() || !args[0].is_string()) fail("selectattr/rejectattr need an attribute name");
    attribute = args[0].as_string();
    next = 1;
  }
  std::string test;
  if (next < args.size()) {
    if (!args[next].is_string()) fail("select/reject need a test name");
    test = args[next].as_string();
  }
  std::vector<Value> test_args(args.begin() + std::min(args.size(), next + 1), args.end());
  for (const auto& item : as_list(target)) {
    const Value v = by_attribute ? attribute_or_item(item, attribute) : item;
    const bool ok = test.empty() ? v.truthy() : apply_test(test, v, test_args);
    if (ok == keep) out.push_back(item);
  }
  return Value::array(out);
}

}  // namespace

Value apply_filter(const std::string& name, const Value& t, std::vector<Value>& args, Kwargs& kw) {
  if (name == "trim") return Value::string(py_strip(t.str(), arg(args, kw, 0, "chars"), true, true));
  if (name == "length" || name == "count") {
    if (t.is_string()) return Value::integer(static_cast<int64_t>(unicode::count_code_points(t.as_string())));
    if (t.is_array()) return Value::integer(static_cast<int64_t>(t.as_array().size()));
    if (t.is_object()) return Value::integer(static_cast<int64_t>(t.as_object().size()));
    if (t.is_undefined()) return Value::integer(0);
    fail(std::string("object of type ") + t.type_name() + " has no length");
  }
  if (name == "tojson") {
    const Value& indent = arg(args, kw, 0, "indent");
    return Value::string(t.to_json(indent.is_int() ? static_cast<int>(indent.as_int()) : -1));
  }
  if (name == "upper" || name == "lower") return Value::string(icu_case(t.str(), name == "upper"));
  if (name == "title") return Value::string(py_title(t.str(), false));
  if (name == "capitalize") return Value::string(py_title(icu_case(t.str(), false), true));
  if (name == "string") return Value::string(t.str());
  if (name == "safe" || (name == "list" && t.is_array())) return t;
  if (name == "list") return Value::array(as_list(t));
  if (name == "e" || name == "escape") return Value::string(html_escape(t.str()));
  if (name == "join") {
    const Value& sep = arg(args, kw, 0, "d");
    const Value& attribute = arg(args, kw, 1, "attribute");
    std::string out;
    const auto items = as_list(t);
    for (size_t k = 0; k < items.size(); ++k) {
      const Value v = attribute.is_string() ? attribute_or_item(items[k], attribute.as_string()) : items[k];
      out += (k && sep.is_string() ? sep.as_string() : "") + v.str();
    }
    return Value::string(out);
  }
  if (name == "first" || name == "last") {
    const auto items = as_list(t);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "default" || name == "d") {
    const bool boolean = arg(args, kw, 1, "boolean").truthy();
    if (t.is_undefined() || (boolean && !t.truthy())) {
      const Value& d = arg(args, kw, 0, "default_value");
      return d.is_undefined() ? Value::string("") : d;
    }
    return t;
  }
  if (name == "int") {
    if (t.is_number() || t.is_bool()) return Value::integer(t.as_int());
    if (t.is_string()) {
      try {
        size_t used = 0;
        const std::string s = py_strip(t.as_string(), Value(), true, true);
        const double d = std::stod(s, &used);
        if (used == s.size()) return Value::integer(static_cast<int64_t>(d));
      } catch (const std::exception&) {
      }
    }
    const Value& d = arg(args, kw, 0, "default");
    return d.is_undefined() ? Value::integer(0) : d;
  }
  if (name == "float") {
    if (t.is_number() || t.is_bool()) return Value::number(t.as_float());
    if (t.is_string()) {
      try {
        return Value::number(std::stod(t.as_string()));
      } catch (const std::exception&) {
      }
    }
    return Value::number(0.0);
  }
  if (name == "abs") {
    if (t.is_int()) return Value::integer(std::llabs(t.as_int()));
    if (t.is_float()) return Value::number(std::fabs(t.as_float()));
    fail("abs needs a number");
  }
  if (name == "round") {
    const int64_t precision = arg(args, kw, 0, "precision").is_int() ? arg(args, kw, 0, "precision").as_int() : 0;
    const double scale = std::pow(10.0, static_cast<double>(precision));
    return Value::number(std::round(t.as_float() * scale) / scale);
  }
  if (name == "replace") {
    if (args.size() < 2 || !args[0].is_string() || !args[1].is_string()) fail("replace needs two strings");
    return Value::string(py_replace(t.str(), args[0].as_string(), args[1].as_string(), args.size() > 2 ? args[2].as_int() : -1));
  }
  if (name == "reverse") {
    if (t.is_string()) {
      auto cps = code_points(t.as_string());
      std::string out;
      for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
      return Value::string(out);
    }
    auto items = as_list(t);
    std::reverse(items.begin(), items.end());
    return Value::array(items);
  }
  if (name == "sort") {
    auto items = as_list(t);
    const bool reverse = arg(args, kw, 0, "reverse").truthy();
    const Value& attribute = arg(args, kw, 2, "attribute");
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const Value x = attribute.is_string() ? attribute_or_item(a, attribute.as_string()) : a;
      const Value y = attribute.is_string() ? attribute_or_item(b, attribute.as_string()) : b;
      return reverse ? compare_values(y, x) < 0 : compare_values(x, y) < 0;
    });
    return Value::array(items);
  }
  if (name == "unique") {
    std::vector<Value> out;
    for (const auto& v : as_list(t))
      if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return o.equals(v); })) out.push_back(v);
    return Value::array(out);
  }
  if (name == "map") {
    std::vector<Value> out;
    const Value& attribute = arg(args, kw, 99, "attribute");
    for (const auto& v : as_list(t)) {
      if (attribute.is_string()) {
        Value r = attribute_or_item(v, attribute.as_string());
        if (r.is_undefined()) {
          const Value& d = arg(args, kw, 99, "default");
          if (!d.is_undefined()) r = d;
        }
        out.push_back(r);
      } else {
        if (args.empty() || !args[0].is_string()) fail("map needs a filter name or attribute=");
        std::vector<Value> rest(args.begin() + 1, args.end());
        Kwargs none;
        out.push_back(apply_filter(args[0].as_string(), v, rest, none));
      }
    }
    return Value::array(out);
  }
  if (name == "select" || name == "reject") return filter_by_test(t, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return filter_by_test(t, args, true, name == "selectattr");
  if (name == "items") {
    if (!t.is_object()) fail("items needs a dict");
    std::vector<Value> out;
    for (const auto& [k, v] : t.as_object()) out.push_back(Value::array({Value::string(k), v}));
    return Value::array(out);
  }
  if (name == "dictsort") {
    if (!t.is_object()) fail("dictsort needs a dict");
    std::vector<Value> out;
    for (const auto& [k, v] : t.as_object()) out.push_back(Value::array({Value::string(k), v}));
    std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
      return icu_case(a.as_array()[0].as_string(), false) < icu_case(b.as_array()[0].as_string(), false);
    });
    return Value::array(out);
  }
  if (name == "indent") {
    const Value& w = arg(args, kw, 0, "width");
    const std::string pad = w.is_string() ? w.as_string() : std::string(w.is_int() ? static_cast<size_t>(std::max<int64_t>(0, w.as_int())) : 4, ' ');
    const bool first = arg(args, kw, 1, "first").truthy(), blank = arg(args, kw, 2, "blank").truthy();
    const std::string s = t.str();
    std::string out;
    size_t pos = 0;
    bool first_line = true;
    while (pos <= s.size()) {
      const size_t nl = s.find('\n', pos);
      const std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      const bool indent = first_line ? first : (blank || !line.empty());
      out += (indent && !(first_line && !first) ? pad : "") + line;
      if (nl == std::string::npos) break;
      out += '\n';
      pos = nl + 1;
      first_line = false;
    }
    return Value::string(out);
  }
  if (name == "wordcount") return Value::integer(static_cast<int64_t>(py_split(t.str(), Value(), -1).size()));
  if (name == "sum") {
    const Value& attribute = arg(args, kw, 0, "attribute");
    Value total = arg(args, kw, 1, "start").is_undefined() ? Value::integer(0) : arg(args, kw, 1, "start");
    for (const auto& v : as_list(t)) {
      const Value x = attribute.is_string() ? attribute_or_item(v, attribute.as_string()) : v;
      total = total.is_int() && x.is_int() ? Value::integer(total.as_int() + x.as_int()) : Value::number(total.as_float() + x.as_float());
    }
    return total;
  }
  if (name == "min" || name == "max") {
    const auto items = as_list(t);
    if (items.empty()) return Value();
    Value best = items[0];
    for (const auto& v : items)
      if (name == "min" ? compare_values(v, best) < 0 : compare_values(v, best) > 0) best = v;
    return best;
  }
  fail("unknown filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& t, std::vector<Value>& args) {
  auto need = [&](size_t n) {
    if (args.size() < n) fail("test '" + name + "' needs an argument");
  };
  if (name == "defined") return !t.is_undefined();
  if (name == "undefined") return t.is_undefined();
  if (name == "none") return t.is_none();
  if (name == "string") return t.is_string();
  if (name == "number") return t.is_number();
  if (name == "integer") return t.is_int();
  if (name == "float") return t.is_float();
  if (name == "boolean") return t.is_bool();
  if (name == "true") return t.is_bool() && t.as_bool();
  if (name == "false") return t.is_bool() && !t.as_bool();
  if (name == "mapping") return t.is_object();
  if (name == "iterable") return t.is_array() || t.is_object() || t.is_string();
  if (name == "sequence") return t.is_array() || t.is_string() || t.is_object();
  if (name == "callable") return t.is_function();
  if (name == "odd" || name == "even") {
    if (!t.is_int()) fail("test '" + name + "' needs an integer");
    return (t.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    need(1);
    return args[0].as_int() != 0 && t.as_int() % args[0].as_int() == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") return need(1), t.equals(args[0]);
  if (name == "ne" || name == "!=") return need(1), !t.equals(args[0]);
  if (name == "gt" || name == "greaterthan") return need(1), compare_values(t, args[0]) > 0;
  if (name == "ge") return need(1), compare_values(t, args[0]) >= 0;
  if (name == "lt" || name == "lessthan") return need(1), compare_values(t, args[0]) < 0;
  if (name == "le") return need(1), compare_values(t, args[0]) <= 0;
  if (name == "lower" || name == "upper") return t.is_string() && icu_case(t.as_string(), name == "upper") == t.as_string();
  if (name == "in") {
    need(1);
    if (args[0].is_string()) return t.is_string() && args[0].as_string().find(t.as_string()) != std::string::npos;
    for (const auto& v : iterate(args[0]))
      if (v.equals(t)) return true;
    return false;
  }
  fail("unknown test '" + name + "'");
}

Value get_global(const std::string& name) {
  if (name == "raise_exception")
    return Value::function([](std::vector<Value>& a, Kwargs&) -> Value {
      throw RaisedError(a.empty() ? "raise_exception() called" : a[0].str());
    });
  if (name == "namespace" || name == "dict")
    return Value::function([](std::vector<Value>& a, Kwargs& kw) {
      Value ns = Value::object();
      for (const auto& v : a)
        if (v.is_object())
          for (const auto& [k, x] : v.as_object()) ns.set(k, x);
      for (const auto& [k, v] : kw) ns.set(k, v);
      return ns;
    });
  if (name == "range")
    return Value::function([](std::vector<Value>& a, Kwargs&) {
      if (a.empty() || a.size() > 3) fail("range() takes 1 to 3 integers");
      int64_t start = 0, stop, step = 1;
      if (a.size() == 1) stop = a[0].as_int();
      else start = a[0].as_int(), stop = a[1].as_int();
      if (a.size() == 3) step = a[2].as_int();
      if (step == 0) fail("range() step must not be zero");
      if ((stop - start) / step > 100'000) fail("range() longer than 100,000 items");
      std::vector<Value> out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::integer(i));
      return Value::array(out);
    });
  if (name == "strftime_now")
    return Value::function([](std::vector<Value>& a, Kwargs&) {
      if (a.empty() || !a[0].is_string()) fail("strftime_now() needs a format string");
      const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[256];
      const size_t n = std::strftime(buf, sizeof buf, a[0].as_string().c_str(), &tm);
      return Value::string(std::string(buf, n));
    });
  return Value();
}

}  // namespace unl::tokenizer::jinja
