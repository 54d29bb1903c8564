// HDF5 failures as unl::Error with HDF5's own error stack in the text, so a user sees why a write
// failed ("No space left on device"), not only which call failed.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "common/h5_handle.h"

namespace unl::detail {
namespace {

std::string message_text(hid_t id) {
  char buf[256] = {0};
  H5E_type_t type;
  if (id < 0 || H5Eget_msg(id, &type, buf, sizeof buf) < 0) return "";
  return buf;
}

herr_t collect(unsigned n, const H5E_error2_t* e, void* out) {
  auto& lines = *static_cast<std::vector<std::string>*>(out);
  if (lines.size() >= 12) return 0;
  std::string line = fmt::format("#{} {}(): {}", n, e->func_name ? e->func_name : "?", e->desc ? e->desc : "");
  const std::string major = message_text(e->maj_num), minor = message_text(e->min_num);
  if (!major.empty() || !minor.empty()) line += " [" + major + (minor.empty() ? "" : ": " + minor) + "]";
  lines.push_back(line);
  return 0;
}

}  // namespace

std::string h5_error_stack() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &lines);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

void throw_h5(const char* file, int line, const char* call) {
  const std::string stack = h5_error_stack();
  throw Error(std::string(call) + " failed" + (stack.empty() ? "" : " (HDF5 error stack: " + stack + ")"),
              "the HDF5 file may be truncated, corrupt, or on a full or read-only filesystem", file, line);
}

}  // namespace unl::detail
