// Recursive-descent parser for the Jinja2 subset: statements (if/elif/else, for/else with
// filters, set and block set, macro, break/continue, generation) and expressions with Jinja's
// precedence (conditional, or, and, not, comparisons/in/is, ~, + -, * / // %, **, unary,
// postfix . [] () and | filters).
#include "common/error.h"
#include "tokenizer/jinja_ast.h"

#include <cstdlib>
#include <set>

namespace unl::tokenizer::jinja {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& where) : t_(tokens), where_(where) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  using K = Token::Kind;
  static constexpr int kMaxDepth = 200;

  // Bounds the recursion of nested expressions and blocks (untrusted templates).
  struct Depth {
    Parser& p;
    explicit Depth(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ~Depth() { --p.depth_; }
  };

  [[noreturn]] void fail(const std::string& what) const {
    UNL_THROW(where_ + "line " + std::to_string(peek().line) + ": " + what,
              "the chat template uses Jinja syntax this subset does not implement, or is malformed");
  }
  const Token& peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  const Token& next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool at_op(const char* op) const { return peek().kind == K::kOp && peek().text == op; }
  bool at_name(const char* name) const { return peek().kind == K::kName && peek().text == name; }
  bool accept_op(const char* op) {
    if (!at_op(op)) return false;
    ++i_;
    return true;
  }
  bool accept_name(const char* name) {
    if (!at_name(name)) return false;
    ++i_;
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail(std::string("expected '") + op + "', found '" + describe(peek()) + "'");
  }
  void expect_kind(K kind, const char* what) {
    if (peek().kind != kind) fail(std::string("expected ") + what + ", found '" + describe(peek()) + "'");
    ++i_;
  }
  std::string expect_name() {
    if (peek().kind != K::kName) fail("expected a name, found '" + describe(peek()) + "'");
    return next().text;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case K::kVarEnd: return "}}";
      case K::kBlockEnd: return "%}";
      case K::kEnd: return "end of template";
      case K::kText: return "text";
      default: return t.text;
    }
  }

  // Statements until one of `ends` ({% elif %}, {% endfor %}, ...); its keyword goes to `end`.
  Body parse_body(const std::set<std::string>& ends, std::string& end) {
    Body body;
    while (true) {
      const Token& tok = peek();
      if (tok.kind == K::kEnd) {
        if (!ends.empty()) {
          std::string closer = *ends.rbegin();
          for (const auto& k : ends)
            if (k.compare(0, 3, "end") == 0) closer = k;
          fail("missing {% " + closer + " %}");
        }
        end.clear();
        return body;
      }
      if (tok.kind == K::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->text = tok.text;
        n->line = tok.line;
        body.push_back(std::move(n));
        ++i_;
        continue;
      }
      if (tok.kind == K::kVarBegin) {
        ++i_;
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = tok.line;
        n->expr = parse_expr();
        expect_kind(K::kVarEnd, "'}}'");
        body.push_back(std::move(n));
        continue;
      }
      if (tok.kind != K::kBlockBegin) fail("unexpected '" + describe(tok) + "'");
      const std::string keyword = peek(1).kind == K::kName ? peek(1).text : "";
      if (ends.count(keyword)) {
        i_ += 2;
        end = keyword;
        return body;
      }
      ++i_;
      body.push_back(parse_statement());
    }
  }

  NodePtr parse_statement() {
    const Depth depth(*this);
    const int line = peek().line;
    const std::string keyword = expect_name();
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string end;
    if (keyword == "if") {
      n->kind = Node::Kind::kIf;
      ExprPtr cond = parse_expr();
      expect_kind(K::kBlockEnd, "'%}'");
      while (true) {
        Body body = parse_body({"elif", "else", "endif"}, end);
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (end == "elif") {
          cond = parse_expr();
          expect_kind(K::kBlockEnd, "'%}'");
          continue;
        }
        if (end == "else") {
          expect_kind(K::kBlockEnd, "'%}'");
          n->else_body = parse_body({"endif"}, end);
        }
        expect_kind(K::kBlockEnd, "'%}'");
        return n;
      }
    }
    if (keyword == "for") {
      n->kind = Node::Kind::kFor;
      n->targets.push_back(expect_name());
      while (accept_op(",")) n->targets.push_back(expect_name());
      if (!accept_name("in")) fail("expected 'in' in a for loop");
      n->expr = parse_expr(/*allow_cond=*/false);
      if (accept_name("if")) n->filter = parse_expr(false);
      if (accept_name("recursive")) fail("recursive loops are not supported");
      expect_kind(K::kBlockEnd, "'%}'");
      n->body = parse_body({"else", "endfor"}, end);
      if (end == "else") {
        expect_kind(K::kBlockEnd, "'%}'");
        n->else_body = parse_body({"endfor"}, end);
      }
      expect_kind(K::kBlockEnd, "'%}'");
      return n;
    }
    if (keyword == "set") {
      std::string target = expect_name();
      if (accept_op(".")) target += "." + expect_name();
      n->targets.push_back(target);
      while (accept_op(",")) n->targets.push_back(expect_name());
      if (accept_op("=")) {
        n->kind = Node::Kind::kSet;
        n->expr = parse_tuple_or_expr();
        expect_kind(K::kBlockEnd, "'%}'");
        return n;
      }
      n->kind = Node::Kind::kSetBlock;
      if (n->targets.size() != 1 || target.find('.') != std::string::npos) fail("a block set needs one plain name");
      expect_kind(K::kBlockEnd, "'%}'");
      n->body = parse_body({"endset"}, end);
      expect_kind(K::kBlockEnd, "'%}'");
      return n;
    }
    if (keyword == "macro") {
      n->kind = Node::Kind::kMacro;
      n->targets.push_back(expect_name());
      expect_op("(");
      while (!accept_op(")")) {
        std::string param = expect_name();
        ExprPtr def;
        if (accept_op("=")) def = parse_expr();
        n->params.emplace_back(param, std::move(def));
        if (!at_op(")")) expect_op(",");
      }
      expect_kind(K::kBlockEnd, "'%}'");
      n->body = parse_body({"endmacro"}, end);
      expect_kind(K::kBlockEnd, "'%}'");
      return n;
    }
    if (keyword == "break" || keyword == "continue") {
      n->kind = keyword == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      expect_kind(K::kBlockEnd, "'%}'");
      return n;
    }
    if (keyword == "generation") {
      // transformers' assistant-mask marker: renders its body unchanged.
      expect_kind(K::kBlockEnd, "'%}'");
      n->kind = Node::Kind::kIf;
      n->branches.emplace_back(literal(Value::boolean(true)), parse_body({"endgeneration"}, end));
      expect_kind(K::kBlockEnd, "'%}'");
      return n;
    }
    fail("unknown statement '{% " + keyword + " %}'");
  }

  static ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  ExprPtr literal(Value v) {
    auto e = make(Expr::Kind::kLiteral, peek().line);
    e->literal = std::move(v);
    return e;
  }
  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::kBinary, a->line);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  // "a, b" without brackets (set x = a, b) is a tuple; we model tuples as lists.
  ExprPtr parse_tuple_or_expr() {
    ExprPtr first = parse_expr();
    if (!at_op(",")) return first;
    auto list = make(Expr::Kind::kList, first->line);
    list->args.push_back(std::move(first));
    while (accept_op(",")) list->args.push_back(parse_expr());
    return list;
  }

  ExprPtr parse_expr(bool allow_cond = true) {
    const Depth depth(*this);
    ExprPtr e = parse_or();
    if (allow_cond && at_name("if")) {
      ++i_;
      auto c = make(Expr::Kind::kCond, e->line);
      ExprPtr cond = parse_or();
      ExprPtr otherwise = accept_name("else") ? parse_expr() : nullptr;
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(otherwise));
      return c;
    }
    return e;
  }
  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (accept_name("or")) e = binary("or", std::move(e), parse_and());
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (accept_name("and")) e = binary("and", std::move(e), parse_not());
    return e;
  }
  ExprPtr parse_not() {
    const Depth depth(*this);
    if (at_name("not")) {
      const int line = next().line;
      auto e = make(Expr::Kind::kUnary, line);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    ExprPtr e = parse_concat();
    while (true) {
      if (peek().kind == K::kOp && (at_op("==") || at_op("!=") || at_op("<") || at_op(">") || at_op("<=") || at_op(">="))) {
        const std::string op = next().text;
        e = binary(op, std::move(e), parse_concat());
      } else if (at_name("in")) {
        ++i_;
        e = binary("in", std::move(e), parse_concat());
      } else if (at_name("not") && peek(1).kind == K::kName && peek(1).text == "in") {
        i_ += 2;
        e = binary("not in", std::move(e), parse_concat());
      } else {
        return e;
      }
    }
  }
  ExprPtr parse_concat() {
    ExprPtr e = parse_add();
    while (accept_op("~")) e = binary("~", std::move(e), parse_add());
    return e;
  }
  ExprPtr parse_add() {
    ExprPtr e = parse_mul();
    while (at_op("+") || at_op("-")) {
      const std::string op = next().text;
      e = binary(op, std::move(e), parse_mul());
    }
    return e;
  }
  ExprPtr parse_mul() {
    ExprPtr e = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const std::string op = next().text;
      e = binary(op, std::move(e), parse_pow());
    }
    return e;
  }
  ExprPtr parse_pow() {
    ExprPtr e = parse_unary();
    while (accept_op("**")) e = binary("**", std::move(e), parse_unary());
    return e;
  }
  // Jinja2: a unary minus binds tighter than filters ("-3 | abs" is abs(-3)).
  ExprPtr parse_unary(bool with_filters = true) {
    const Depth depth(*this);
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      e = make(Expr::Kind::kUnary, t.line);
      e->name = t.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_postfix(parse_primary());
    }
    return with_filters ? parse_filters(std::move(e)) : std::move(e);
  }

  // Arguments of a call, filter or test: positional then keyword (name=value).
  void parse_args(Expr& e) {
    while (!accept_op(")")) {
      if (peek().kind == K::kName && peek(1).kind == K::kOp && peek(1).text == "=") {
        e.keywords.push_back(next().text);
        ++i_;
      } else {
        e.keywords.emplace_back();
      }
      e.args.push_back(parse_expr());
      if (!at_op(")")) expect_op(",");
    }
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (accept_op(".")) {
        auto a = make(Expr::Kind::kAttr, e->line);
        a->name = peek().kind == K::kInt ? next().text : expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (accept_op("[")) {
        ExprPtr parts[3];
        bool slice = false;
        for (int k = 0; k < 3; ++k) {
          if (!at_op(":") && !at_op("]")) parts[k] = parse_expr();
          if (k < 2 && accept_op(":")) slice = true;
          else break;
        }
        expect_op("]");
        auto s = make(slice ? Expr::Kind::kSlice : Expr::Kind::kIndex, e->line);
        s->args.push_back(std::move(e));
        for (auto& p : parts)
          if (slice || p) s->args.push_back(std::move(p));
        e = std::move(s);
      } else if (accept_op("(")) {
        auto c = make(Expr::Kind::kCall, e->line);
        c->args.push_back(std::move(e));
        parse_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      if (accept_op("|")) {
        auto f = make(Expr::Kind::kFilter, e->line);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (accept_op("(")) parse_args(*f);
        e = parse_postfix(std::move(f));
      } else if (at_name("is")) {
        ++i_;
        auto t = make(Expr::Kind::kTest, e->line);
        t->negated = accept_name("not");
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (accept_op("(")) {
          parse_args(*t);
        } else if (peek().kind == K::kString || peek().kind == K::kInt || peek().kind == K::kFloat ||
                   (peek().kind == K::kName && !at_name("and") && !at_name("or") && !at_name("else") && !at_name("if") &&
                    !at_name("in") && !at_name("not") && !at_name("is"))) {
          // "x is divisibleby 3", "x is sameas none": one argument without parentheses.
          t->keywords.emplace_back();
          t->args.push_back(parse_primary());
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case K::kString: {
        std::string s = next().text;
        while (peek().kind == K::kString) s += next().text;  // adjacent literals concatenate
        return literal(Value::string(s));
      }
      case K::kInt: return literal(Value::integer(std::strtoll(next().text.c_str(), nullptr, 10)));
      case K::kFloat: return literal(Value::number(std::strtod(next().text.c_str(), nullptr)));
      case K::kName: {
        const std::string name = next().text;
        if (name == "true" || name == "True") return literal(Value::boolean(true));
        if (name == "false" || name == "False") return literal(Value::boolean(false));
        if (name == "none" || name == "None") return literal(Value::none());
        auto e = make(Expr::Kind::kName, t.line);
        e->name = name;
        return e;
      }
      case K::kOp: {
        if (accept_op("(")) {
          ExprPtr first = parse_expr();
          if (accept_op(")")) return first;
          auto list = make(Expr::Kind::kList, first->line);  // a tuple
          list->args.push_back(std::move(first));
          while (accept_op(",")) {
            if (at_op(")")) break;
            list->args.push_back(parse_expr());
          }
          expect_op(")");
          return list;
        }
        if (accept_op("[")) {
          auto list = make(Expr::Kind::kList, t.line);
          while (!accept_op("]")) {
            list->args.push_back(parse_expr());
            if (!at_op("]")) expect_op(",");
          }
          return list;
        }
        if (accept_op("{")) {
          auto dict = make(Expr::Kind::kDict, t.line);
          while (!accept_op("}")) {
            dict->args.push_back(parse_expr());
            expect_op(":");
            dict->args.push_back(parse_expr());
            if (!at_op("}")) expect_op(",");
          }
          return dict;
        }
        break;
      }
      default: break;
    }
    fail("unexpected '" + describe(t) + "' in an expression");
  }

  const std::vector<Token>& t_;
  const std::string& where_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& where) { return Parser(tokens, where).parse_template(); }

}  // namespace unl::tokenizer::jinja
