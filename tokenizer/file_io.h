// Reading tokenizer files with the size limit checked first (shared by the loaders).
#pragma once

#include <string>

namespace unl::tokenizer {

/// The whole file; refuses files over kMaxFileBytes before reading them.
std::string read_tokenizer_file(const std::string& path);

}  // namespace unl::tokenizer
