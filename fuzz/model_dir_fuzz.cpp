// libFuzzer target: a hostile sharded model directory through SafetensorsModel. The input is
// split at the first NUL: before it, model.safetensors.index.json (absent when empty); after it,
// the bytes of two shard files a.safetensors and b.safetensors (without an index, model.safetensors).
// Every tensor the directory accepts must then read back.
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "common/error.h"
#include "fuzz/fuzz_util.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const std::string dir = [] {
    const std::string d = unl::fuzz::temp_path("-model-dir");
    fs::create_directories(d);
    return d;
  }();
  const uint8_t* split = std::find(data, data + size, uint8_t{0});
  const uint8_t* shard = split == data + size ? split : split + 1;
  const size_t shard_size = static_cast<size_t>(data + size - shard);
  std::error_code ec;
  for (const char* f : {"model.safetensors.index.json", "model.safetensors", "a.safetensors", "b.safetensors"})
    fs::remove(dir + "/" + f, ec);
  if (split > data) {
    unl::fuzz::write_file(dir + "/model.safetensors.index.json", data, static_cast<size_t>(split - data));
    unl::fuzz::write_file(dir + "/a.safetensors", shard, shard_size);
    unl::fuzz::write_file(dir + "/b.safetensors", shard, shard_size);
  } else {
    unl::fuzz::write_file(dir + "/model.safetensors", shard, shard_size);
  }
  try {
    unl::model::SafetensorsModel model(dir);
    for (const auto& name : model.names()) {
      if (!model.contains(name)) __builtin_trap();
      (void)model.tensor(name, torch::kFloat32).numel();
    }
  } catch (const unl::Error&) {
  }
  return 0;
}
