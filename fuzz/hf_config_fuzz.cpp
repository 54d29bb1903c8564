// libFuzzer target: a Hugging Face config.json through load_hf_config (strict JSON parsing, then
// config_from_hf_json and validate). Anything but a valid config must be an unl::Error.
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "fuzz/fuzz_util.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unl::fuzz::TempFile file(unl::fuzz::temp_path("-config.json"));
  unl::fuzz::write_file(file.path, data, size);
  try {
    unl::model::ModelConfig c = unl::model::load_hf_config(file.path);
    c.validate();
  } catch (const unl::Error&) {
  }
  // The same bytes through the lenient nlohmann parser straight into config_from_hf_json, so
  // inputs that load_hf_config's strict parser rejects early still reach the field checks.
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    try {
      unl::model::ModelConfig c = unl::model::config_from_hf_json(j);
      c.validate();
    } catch (const unl::Error&) {
    }
  }
  return 0;
}
