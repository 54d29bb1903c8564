// A Jinja2 subset for chat templates: enough of the language (statements, expressions, filters,
// tests, Python string/list/dict methods) for the templates models ship; anything else is an
// error naming the construct and its line.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace unl::tokenizer::jinja {

/// Render `source` with the variables of `context` (a JSON object). `where` prefixes errors.
std::string render(const std::string& source, const nlohmann::ordered_json& context, const std::string& where);

}  // namespace unl::tokenizer::jinja
