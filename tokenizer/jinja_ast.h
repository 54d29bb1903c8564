// The parsed form of a chat template: tokens from the lexer, expression and statement trees.
#pragma once

#include "tokenizer/jinja_value.h"

#include <memory>
#include <string>
#include <vector>

namespace unl::tokenizer::jinja {

struct Token {
  enum class Kind { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind;
  std::string text;
  int line;
};

/// Split a template into tokens, applying whitespace control ({%- -%}), trim_blocks and
/// lstrip_blocks (what transformers enables) and dropping comments.
std::vector<Token> lex(const std::string& source, const std::string& where);

struct Expr {
  enum class Kind { kLiteral, kName, kList, kDict, kAttr, kIndex, kSlice, kCall, kFilter, kTest, kUnary, kBinary, kCond };
  Kind kind;
  int line = 0;
  Value literal;                               // kLiteral
  std::string name;                            // kName, kAttr, kFilter, kTest; operator of kUnary/kBinary
  std::vector<std::unique_ptr<Expr>> args;     // operands; for calls/filters/tests: target first, then arguments
  std::vector<std::string> keywords;           // per argument after the target: "" or its keyword
  bool negated = false;                        // kTest: "is not"
};
using ExprPtr = std::unique_ptr<Expr>;

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue };
  Kind kind;
  int line = 0;
  std::string text;                                  // kText
  ExprPtr expr;                                      // kOutput, kSet value, kFor iterable
  std::vector<std::pair<ExprPtr, Body>> branches;    // kIf: (condition, body) for if / elif
  Body body, else_body;                              // kFor, kIf else, kSetBlock, kMacro
  std::vector<std::string> targets;                  // kFor / kSet names ("ns.attr" for attribute sets); kMacro: name
  ExprPtr filter;                                    // kFor: "if" condition
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro: (name, default or null)
};

/// Parse a token stream into the template's top-level body.
Body parse(const std::vector<Token>& tokens, const std::string& where);

}  // namespace unl::tokenizer::jinja
