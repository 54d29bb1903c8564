// libFuzzer target: arbitrary bytes as an HDF5 token file through data::load_samples (format h5,
// dataset "tokens"; the first input byte picks a column range and a row limit).
#include <string>

#include "common/error.h"
#include "data/data.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static unl::fuzz::TempFile h5(unl::fuzz::temp_path("-tokens.h5"));
  const uint8_t mode = data[0];
  unl::data::DataSpec spec;
  spec.path = h5.path;
  spec.format = "h5";
  if (mode & 2) spec.col_begin = 1;
  if (mode & 4) spec.col_end = 3;
  if (mode & 8) spec.max_tokens = 4;
  if (mode & 16) spec.limit = 2;
  unl::fuzz::write_file(h5.path, data + 1, size - 1);
  try {
    auto samples = unl::data::load_samples(spec, {}, 50257);
    (void)samples.size();
  } catch (const unl::Error&) {
  }
  return 0;
}
