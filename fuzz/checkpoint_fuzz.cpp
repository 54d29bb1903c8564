// libFuzzer target: checkpoint::read and checkpoint::inspect on arbitrary bytes as an .h5 file.
// Note the HDF5 library itself is not instrumented; a crash inside libhdf5 is reported, too.
#include "checkpoint/checkpoint.h"
#include "common/error.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unl::fuzz::TempFile file(unl::fuzz::temp_path("-ckpt.h5"));
  unl::fuzz::write_file(file.path, data, size);
  try {
    auto s = unl::checkpoint::read(file.path);
    (void)s.tensors.size();
  } catch (const unl::Error&) {
  }
  try {
    auto summary = unl::checkpoint::inspect(file.path);
    (void)unl::checkpoint::format_summary(summary);
  } catch (const unl::Error&) {
  }
  return 0;
}
