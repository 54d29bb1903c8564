// libFuzzer target: JobConfig::from_toml on arbitrary text. Malformed TOML, unknown keys, wrong
// types and impossible values must all end as one unl::UsageError (an unl::Error).
#include <string>

#include "common/error.h"
#include "driver/job_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto cfg = unl::driver::JobConfig::from_toml(text, "fuzz.toml");
    (void)cfg.to_toml();
  } catch (const unl::Error&) {
  }
  return 0;
}
