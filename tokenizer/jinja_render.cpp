// Evaluates a parsed chat template: Jinja2 scoping (a for loop's body is its own scope, so
// templates use namespace() to carry state out), the loop variable, macros, break/continue,
// Python operator semantics. Output and call depth are bounded, since templates are untrusted.
#include "common/error.h"
#include "tokenizer/jinja.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_builtins.h"

#include <cmath>
#include <unordered_map>

namespace unl::tokenizer::jinja {
namespace {

constexpr size_t kMaxOutputBytes = size_t{64} << 20;
constexpr int kMaxCallDepth = 64;
constexpr int64_t kMaxLoopIterations = 50000;  // per render: bounds time and how deep values can nest

using Scope = std::unordered_map<std::string, Value>;

class Renderer {
 public:
  explicit Renderer(const Value& context) {
    scopes_.push_back(std::make_shared<Scope>());
    for (const auto& [k, v] : context.as_object()) (*scopes_[0])[k] = v;
  }

  std::string run(const Body& body) {
    exec(body);
    return std::move(out_);
  }
  int line() const { return line_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec(const Body& body) {
    for (const auto& n : body) {
      const Flow f = exec(*n);
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  void emit(const std::string& s) {
    out_ += s;
    if (out_.size() > kMaxOutputBytes) throw TemplateError("output exceeds " + std::to_string(kMaxOutputBytes) + " bytes");
  }

  Flow exec(const Node& n) {
    line_ = n.line;
    switch (n.kind) {
      case Node::Kind::kText: emit(n.text); return Flow::kNormal;
      case Node::Kind::kOutput: emit(eval(*n.expr).str()); return Flow::kNormal;
      case Node::Kind::kIf:
        for (const auto& [cond, body] : n.branches)
          if (eval(*cond).truthy()) return exec(body);
        return exec(n.else_body);
      case Node::Kind::kFor: return exec_for(n);
      case Node::Kind::kSet: assign(n.targets, eval(*n.expr)); return Flow::kNormal;
      case Node::Kind::kSetBlock: {
        std::string saved;
        saved.swap(out_);
        exec(n.body);
        saved.swap(out_);
        assign(n.targets, Value::string(saved));
        return Flow::kNormal;
      }
      case Node::Kind::kMacro: define_macro(n); return Flow::kNormal;
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  void assign(const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      const std::string& t = targets[0];
      const size_t dot = t.find('.');
      if (dot == std::string::npos) {
        (*scopes_.back())[t] = v;
        return;
      }
      const Value ns = lookup(t.substr(0, dot));
      if (!ns.is_object()) throw TemplateError("cannot set attribute '" + t.substr(dot + 1) + "' on " + ns.type_name() + " '" + t.substr(0, dot) + "' (use namespace())");
      ns.set(t.substr(dot + 1), v);
      return;
    }
    const std::vector<Value> items = iterate(v);
    if (items.size() != targets.size()) throw TemplateError("cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(targets.size()) + " names");
    for (size_t k = 0; k < targets.size(); ++k) (*scopes_.back())[targets[k]] = items[k];
  }

  Flow exec_for(const Node& n) {
    std::vector<Value> items = iterate(eval(*n.expr));
    if (n.filter) {
      std::vector<Value> kept;
      for (auto& item : items) {
        scopes_.push_back(std::make_shared<Scope>());
        bind(n.targets, item);
        const bool ok = eval(*n.filter).truthy();
        scopes_.pop_back();
        if (ok) kept.push_back(std::move(item));
      }
      items.swap(kept);
    }
    if (items.empty()) return exec(n.else_body);
    const int64_t len = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < len; ++i) {
      if (++iterations_ > kMaxLoopIterations)
        throw TemplateError("more than " + std::to_string(kMaxLoopIterations) + " loop iterations");
      scopes_.push_back(std::make_shared<Scope>());
      bind(n.targets, items[i]);
      Value loop = Value::object({{"index", Value::integer(i + 1)},
                                  {"index0", Value::integer(i)},
                                  {"revindex", Value::integer(len - i)},
                                  {"revindex0", Value::integer(len - i - 1)},
                                  {"first", Value::boolean(i == 0)},
                                  {"last", Value::boolean(i == len - 1)},
                                  {"length", Value::integer(len)},
                                  {"previtem", i > 0 ? items[i - 1] : Value()},
                                  {"nextitem", i + 1 < len ? items[i + 1] : Value()}});
      loop.set("cycle", Value::function([i](std::vector<Value>& a, Kwargs&) {
        if (a.empty()) throw TemplateError("loop.cycle() needs arguments");
        return a[static_cast<size_t>(i) % a.size()];
      }));
      (*scopes_.back())["loop"] = loop;
      const Flow f = exec(n.body);
      scopes_.pop_back();
      if (f == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  void bind(const std::vector<std::string>& targets, const Value& item) {
    if (targets.size() == 1) {
      (*scopes_.back())[targets[0]] = item;
      return;
    }
    const std::vector<Value> parts = iterate(item);
    if (parts.size() != targets.size()) throw TemplateError("cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(targets.size()) + " loop names");
    for (size_t k = 0; k < targets.size(); ++k) (*scopes_.back())[targets[k]] = parts[k];
  }

  void define_macro(const Node& n) {
    const Node* node = &n;
    Renderer* self = this;
    (*scopes_.back())[n.targets[0]] = Value::function([self, node](std::vector<Value>& args, Kwargs& kwargs) {
      if (++self->depth_ > kMaxCallDepth) throw TemplateError("macro calls nested deeper than " + std::to_string(kMaxCallDepth));
      auto scope = std::make_shared<Scope>();
      for (size_t k = 0; k < node->params.size(); ++k) {
        const auto& [pname, def] = node->params[k];
        Value v;
        if (k < args.size()) v = args[k];
        else if (def) v = self->eval(*def);
        for (const auto& [kn, kv] : kwargs)
          if (kn == pname) v = kv;
        (*scope)[pname] = v;
      }
      std::vector<std::shared_ptr<Scope>> saved_scopes = {self->scopes_[0], scope};
      saved_scopes.swap(self->scopes_);
      std::string saved_out;
      saved_out.swap(self->out_);
      self->exec(node->body);
      saved_out.swap(self->out_);
      saved_scopes.swap(self->scopes_);
      --self->depth_;
      return Value::string(saved_out);
    });
  }

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = (*it)->find(name);
      if (f != (*it)->end()) return f->second;
    }
    return get_global(name);
  }

  void eval_args(const Expr& e, std::vector<Value>& args, Kwargs& kwargs) {
    for (size_t k = 1; k < e.args.size(); ++k) {
      Value v = eval(*e.args[k]);
      const std::string& kw = e.keywords[k - 1];
      if (kw.empty()) args.push_back(std::move(v));
      else kwargs.emplace_back(kw, std::move(v));
    }
  }

  Value eval(const Expr& e) {
    line_ = e.line;
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal;
      case Expr::Kind::kName: return lookup(e.name);
      case Expr::Kind::kList: {
        Array a;
        for (const auto& x : e.args) a.push_back(eval(*x));
        return Value::array(std::move(a));
      }
      case Expr::Kind::kDict: {
        Value d = Value::object();
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) d.set(eval(*e.args[k]).str(), eval(*e.args[k + 1]));
        return d;
      }
      case Expr::Kind::kAttr: return get_attribute(eval(*e.args[0]), e.name);
      case Expr::Kind::kIndex: return get_item(eval(*e.args[0]), eval(*e.args[1]));
      case Expr::Kind::kSlice: {
        const Value target = eval(*e.args[0]);
        auto part = [&](size_t k) { return e.args[k] ? eval(*e.args[k]) : Value(); };
        return get_slice(target, part(1), part(2), part(3));
      }
      case Expr::Kind::kCall: {
        const Value callee = eval(*e.args[0]);
        if (!callee.is_function()) {
          const Expr& c = *e.args[0];
          if (c.kind == Expr::Kind::kAttr) throw TemplateError("unknown method '" + c.name + "' of a " + eval(*c.args[0]).type_name());
          if (c.kind == Expr::Kind::kName) throw TemplateError("unknown function '" + c.name + "'");
          throw TemplateError(std::string("a ") + callee.type_name() + " is not callable");
        }
        std::vector<Value> args;
        Kwargs kwargs;
        eval_args(e, args, kwargs);
        return callee.as_function()(args, kwargs);
      }
      case Expr::Kind::kFilter: {
        const Value target = eval(*e.args[0]);
        std::vector<Value> args;
        Kwargs kwargs;
        eval_args(e, args, kwargs);
        return apply_filter(e.name, target, args, kwargs);
      }
      case Expr::Kind::kTest: {
        const Value target = eval(*e.args[0]);
        std::vector<Value> args;
        Kwargs kwargs;
        eval_args(e, args, kwargs);
        return Value::boolean(apply_test(e.name, target, args) != e.negated);
      }
      case Expr::Kind::kUnary: {
        const Value v = eval(*e.args[0]);
        if (e.name == "not") return Value::boolean(!v.truthy());
        if (!v.is_number()) throw TemplateError("unary " + e.name + " needs a number, got a " + v.type_name());
        if (e.name == "+") return v;
        return v.is_int() ? Value::integer(-v.as_int()) : Value::number(-v.as_float());
      }
      case Expr::Kind::kCond: {
        if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value();
      }
      case Expr::Kind::kBinary: return binary(e);
    }
    return Value();
  }

  Value binary(const Expr& e) {
    const std::string& op = e.name;
    const Value a = eval(*e.args[0]);
    if (op == "and") return a.truthy() ? eval(*e.args[1]) : a;
    if (op == "or") return a.truthy() ? a : eval(*e.args[1]);
    const Value b = eval(*e.args[1]);
    line_ = e.line;
    if (op == "==") return Value::boolean(a.equals(b));
    if (op == "!=") return Value::boolean(!a.equals(b));
    if (op == "<") return Value::boolean(py::compare_values(a, b) < 0);
    if (op == ">") return Value::boolean(py::compare_values(a, b) > 0);
    if (op == "<=") return Value::boolean(py::compare_values(a, b) <= 0);
    if (op == ">=") return Value::boolean(py::compare_values(a, b) >= 0);
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.is_string()) {
        if (!a.is_string()) throw TemplateError(std::string("'in <string>' needs a string on the left, got a ") + a.type_name());
        found = b.as_string().find(a.as_string()) != std::string::npos;
      } else if (b.is_object()) {
        found = a.is_string() && b.get(a.as_string());
      } else {
        for (const auto& v : iterate(b)) found = found || v.equals(a);
      }
      return Value::boolean(found == (op == "in"));
    }
    if (op == "~") return Value::string(a.str() + b.str());
    if (op == "+") {
      if (a.is_int() && b.is_int()) return Value::integer(a.as_int() + b.as_int());
      if (a.is_number() && b.is_number()) return Value::number(a.as_float() + b.as_float());
      if (a.is_string() && b.is_string()) return Value::string(a.as_string() + b.as_string());
      if (a.is_array() && b.is_array()) {
        Array r = a.as_array();
        r.insert(r.end(), b.as_array().begin(), b.as_array().end());
        return Value::array(std::move(r));
      }
      throw TemplateError(std::string("cannot add a ") + a.type_name() + " and a " + b.type_name());
    }
    if (op == "*" && ((a.is_string() || a.is_array()) && b.is_int())) {
      const int64_t n = std::max<int64_t>(0, b.as_int());
      if (n * static_cast<int64_t>(a.is_string() ? a.as_string().size() : a.as_array().size()) > static_cast<int64_t>(kMaxOutputBytes))
        throw TemplateError("repetition too large");
      if (a.is_string()) {
        std::string r;
        for (int64_t k = 0; k < n; ++k) r += a.as_string();
        return Value::string(r);
      }
      Array r;
      for (int64_t k = 0; k < n; ++k) r.insert(r.end(), a.as_array().begin(), a.as_array().end());
      return Value::array(std::move(r));
    }
    if (!a.is_number() || !b.is_number())
      throw TemplateError("operator " + op + " needs numbers, got a " + a.type_name() + " and a " + b.type_name());
    const bool ints = a.is_int() && b.is_int();
    if (op == "-") return ints ? Value::integer(a.as_int() - b.as_int()) : Value::number(a.as_float() - b.as_float());
    if (op == "*") return ints ? Value::integer(a.as_int() * b.as_int()) : Value::number(a.as_float() * b.as_float());
    if (op == "**") return ints && b.as_int() >= 0 ? Value::integer(static_cast<int64_t>(std::pow(a.as_float(), b.as_float())))
                                                   : Value::number(std::pow(a.as_float(), b.as_float()));
    if (b.as_float() == 0) throw TemplateError("division by zero");
    if (op == "/") return Value::number(a.as_float() / b.as_float());
    if (op == "//") {
      if (ints) {
        const int64_t q = a.as_int() / b.as_int();
        return Value::integer((a.as_int() % b.as_int() != 0 && ((a.as_int() < 0) != (b.as_int() < 0))) ? q - 1 : q);
      }
      return Value::number(std::floor(a.as_float() / b.as_float()));
    }
    if (op == "%") {
      if (ints) {
        const int64_t r = a.as_int() % b.as_int();
        return Value::integer(r != 0 && ((r < 0) != (b.as_int() < 0)) ? r + b.as_int() : r);
      }
      const double r = std::fmod(a.as_float(), b.as_float());
      return Value::number(r != 0 && ((r < 0) != (b.as_float() < 0)) ? r + b.as_float() : r);
    }
    throw TemplateError("unknown operator " + op);
  }

  std::vector<std::shared_ptr<Scope>> scopes_;
  std::string out_;
  int line_ = 1;
  int depth_ = 0;
  int64_t iterations_ = 0;
};

}  // namespace

std::string render(const std::string& source, const nlohmann::ordered_json& context, const std::string& where) {
  UNL_CHECK(context.is_object(), where + "the template variables must be a JSON object", "pass an object");
  const Body body = parse(lex(source, where), where);
  Value variables;
  try {
    variables = Value::from_json(context);
  } catch (const TemplateError& e) {
    UNL_THROW(where + e.what(), "the chat messages are nested too deeply");
  }
  Renderer r(variables);
  try {
    return r.run(body);
  } catch (const RaisedError& e) {
    UNL_THROW(where + "the template raised an exception: " + e.what(),
              "the messages do not fit this model's chat format (e.g. roles must alternate user/assistant)");
  } catch (const TemplateError& e) {
    UNL_THROW(where + "line " + std::to_string(r.line()) + ": " + e.what(),
              "the chat template uses a construct this Jinja subset does not implement, or the messages lack a field it needs");
  }
}

}  // namespace unl::tokenizer::jinja
