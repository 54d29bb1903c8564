// Python semantics for template values: printing (str/repr), JSON (json.dumps), truth, equality.
#include "tokenizer/jinja_value.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace unl::tokenizer::jinja {

Value Value::none() { Value v; v.kind_ = Kind::kNone; return v; }
Value Value::boolean(bool b) { Value v; v.kind_ = Kind::kBool; v.b_ = b; return v; }
Value Value::integer(int64_t i) { Value v; v.kind_ = Kind::kInt; v.i_ = i; return v; }
Value Value::number(double f) { Value v; v.kind_ = Kind::kFloat; v.f_ = f; return v; }
Value Value::string(std::string s) { Value v; v.kind_ = Kind::kString; v.s_ = std::move(s); return v; }
Value Value::array(Array a) { Value v; v.kind_ = Kind::kArray; v.arr_ = std::make_shared<Array>(std::move(a)); return v; }
Value Value::object(Object o) { Value v; v.kind_ = Kind::kObject; v.obj_ = std::make_shared<Object>(std::move(o)); return v; }
Value Value::function(Function f) { Value v; v.kind_ = Kind::kFunction; v.fn_ = std::make_shared<Function>(std::move(f)); return v; }

Value Value::from_json(const nlohmann::ordered_json& j, int depth) {
  if (depth > 256) throw TemplateError("template variables nested deeper than 256 levels");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return integer(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& e : j) a.push_back(from_json(e, depth + 1));
      return array(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
      Object o;
      o.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) o.emplace_back(it.key(), from_json(it.value(), depth + 1));
      return object(std::move(o));
    }
    default: return Value();
  }
}

const Value* Value::get(const std::string& key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (const auto& [k, v] : *obj_)
    if (k == key) return &v;
  return nullptr;
}

void Value::set(const std::string& key, Value v) const {
  for (auto& [k, old] : *obj_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  obj_->emplace_back(key, std::move(v));
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined: case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0.0;
    case Kind::kString: return !s_.empty();
    case Kind::kArray: return !arr_->empty();
    case Kind::kObject: return !obj_->empty();
    case Kind::kFunction: return true;
  }
  return false;
}

std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  // Python's repr: the shortest digits that round-trip, positional for exponents in [-4, 16).
  char buf[64];
  int prec = 1;
  for (; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
    if (std::strtod(buf, nullptr) == f) break;
  }
  std::string sci = buf;
  const size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (size_t k = 0; k < e; ++k)
    if (std::isdigit(static_cast<unsigned char>(sci[k]))) digits += sci[k];
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const std::string sign = f < 0 ? "-" : "";
  if (exp >= -4 && exp < 16) {
    std::string out;
    if (exp < 0) {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exp + 1) {
      out = digits + std::string(static_cast<size_t>(exp + 1 - static_cast<int>(digits.size())), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
    }
    return sign + out;
  }
  std::string mant = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return sign + mant + ebuf;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return float_repr(f_);
    case Kind::kString: return s_;
    default: return repr();
  }
}

namespace {
constexpr int kMaxDepth = 256;  // printing, JSON and == stop here (a list may even contain itself)
void check_depth(int depth) {
  if (depth > kMaxDepth) throw TemplateError("value nested deeper than 256 levels (or containing itself)");
}
}  // namespace

std::string Value::repr(int depth) const {
  check_depth(depth);
  switch (kind_) {
    case Kind::kString: {
      // Python picks single quotes unless the text has one and no double quote.
      const bool dq = s_.find('\'') != std::string::npos && s_.find('"') == std::string::npos;
      const char q = dq ? '"' : '\'';
      std::string out(1, q);
      for (char c : s_) {
        if (c == q || c == '\\') out += '\\', out += c;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else out += c;
      }
      return out + q;
    }
    case Kind::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < arr_->size(); ++i) out += (i ? ", " : "") + (*arr_)[i].repr(depth + 1);
      return out + "]";
    }
    case Kind::kObject: {
      std::string out = "{";
      for (size_t i = 0; i < obj_->size(); ++i)
        out += (i ? ", " : "") + Value::string((*obj_)[i].first).repr() + ": " + (*obj_)[i].second.repr(depth + 1);
      return out + "}";
    }
    case Kind::kFunction: return "<function>";
    case Kind::kUndefined: return "Undefined";
    default: return str();
  }
}

namespace {
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}
}  // namespace

std::string Value::to_json(int indent, int depth) const {
  check_depth(depth);
  const std::string item_sep = indent >= 0 ? "," : ", ";
  const std::string pad = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent) * (depth + 1), ' ') : "";
  const std::string close_pad = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent) * depth, ' ') : "";
  switch (kind_) {
    case Kind::kUndefined: case Kind::kNone: return "null";
    case Kind::kBool: return b_ ? "true" : "false";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return std::isfinite(f_) ? float_repr(f_) : (std::isnan(f_) ? "NaN" : f_ > 0 ? "Infinity" : "-Infinity");
    case Kind::kString: return json_string(s_);
    case Kind::kArray: {
      if (arr_->empty()) return "[]";
      std::string out = "[";
      for (size_t i = 0; i < arr_->size(); ++i) out += (i ? item_sep : "") + pad + (*arr_)[i].to_json(indent, depth + 1);
      return out + close_pad + "]";
    }
    case Kind::kObject: {
      if (obj_->empty()) return "{}";
      std::string out = "{";
      for (size_t i = 0; i < obj_->size(); ++i)
        out += (i ? item_sep : "") + pad + json_string((*obj_)[i].first) + ": " + (*obj_)[i].second.to_json(indent, depth + 1);
      return out + close_pad + "}";
    }
    case Kind::kFunction: return "null";
  }
  return "null";
}

bool Value::equals(const Value& o, int depth) const {
  check_depth(depth);
  if (is_number() && o.is_number()) return as_float() == o.as_float();
  if (is_bool() && o.is_number()) return static_cast<double>(b_) == o.as_float();
  if (is_number() && o.is_bool()) return as_float() == static_cast<double>(o.b_);
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined: case Kind::kNone: return true;
    case Kind::kBool: return b_ == o.b_;
    case Kind::kString: return s_ == o.s_;
    case Kind::kArray: {
      if (arr_->size() != o.arr_->size()) return false;
      for (size_t i = 0; i < arr_->size(); ++i)
        if (!(*arr_)[i].equals((*o.arr_)[i], depth + 1)) return false;
      return true;
    }
    case Kind::kObject: {
      if (obj_->size() != o.obj_->size()) return false;
      for (const auto& [k, v] : *obj_) {
        const Value* other = o.get(k);
        if (!other || !v.equals(*other, depth + 1)) return false;
      }
      return true;
    }
    case Kind::kFunction: return fn_ == o.fn_;
    default: return false;
  }
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "none";
    case Kind::kBool: return "boolean";
    case Kind::kInt: return "integer";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kArray: return "list";
    case Kind::kObject: return "dict";
    case Kind::kFunction: return "function";
  }
  return "?";
}

}  // namespace unl::tokenizer::jinja
