// libFuzzer target: SafetensorsFile on arbitrary bytes. Construction must validate the header or
// throw unl::Error; every tensor it accepts must then read back without touching memory outside the map.
#include <torch/torch.h>

#include "common/error.h"
#include "fuzz/fuzz_util.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unl::fuzz::TempFile file(unl::fuzz::temp_path(".safetensors"));
  unl::fuzz::write_file(file.path, data, size);
  try {
    unl::model::SafetensorsFile st(file.path);
    for (const auto& name : st.names()) {
      const auto& info = st.info(name);
      (void)info;
      torch::Tensor t = st.tensor(name, torch::kFloat32);
      (void)t.numel();
    }
  } catch (const unl::Error&) {
  }
  return 0;
}
