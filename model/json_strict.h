// JSON parsing for files whose duplicate keys would otherwise be silently collapsed (safetensors
// headers, index files, vocab.json): the error names the source and the repeated key.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace unl::model {

/// Parse `text`; throws unl::Error "<where>not valid JSON (...)" or "<where>key 'k' appears
/// twice ..." with `hint`. `where` is a prefix such as "path: ".
nlohmann::json parse_json_strict(std::string_view text, const std::string& where,
                                 const std::string& hint);

}  // namespace unl::model
