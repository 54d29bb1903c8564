// Writes the binary seed files of fuzz/corpus/ with the project's own writers: a small
// safetensors file, .npy token arrays, an HDF5 token file and a checkpoint. Usage: make_seeds <corpus_dir>.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "checkpoint/checkpoint.h"
#include "data/data.h"
#include "model/safetensors.h"

namespace fs = std::filesystem;

// samples_fuzz reads the first byte as a mode (odd: npy), then the file.
static void prefix_mode(const std::string& from, const std::string& to, char mode) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream out(to, std::ios::binary);
  out.put(mode);
  out << bytes;
  fs::remove(from);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds <corpus_dir>\n";
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* t : {"safetensors", "samples", "checkpoint", "h5_tokens"}) fs::create_directories(dir / t);

  unl::model::write_safetensors((dir / "safetensors/two_tensors").string(),
                                {{"a", torch::arange(6, torch::kFloat32).reshape({2, 3})},
                                 {"b", torch::tensor({1, 2}, torch::kInt64)}});
  unl::model::write_safetensors((dir / "safetensors/bf16_scalar").string(),
                                {{"w", torch::ones({}, torch::kBFloat16)}}, {});

  const std::string tmp = (dir / "samples/tmp.npy").string();
  unl::data::write_npy(tmp, {{1, 2, 3, 4}, {5, 6, 7, 8}}, "<u2");
  prefix_mode(tmp, (dir / "samples/npy_u2").string(), 1);
  unl::data::write_npy(tmp, {{10, 20, 30}}, "<i8");
  prefix_mode(tmp, (dir / "samples/npy_i8").string(), 1);

  const std::string h5 = (dir / "h5_tokens/tmp.h5").string();
  unl::data::write_h5_tokens(h5, "tokens", {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}});
  prefix_mode(h5, (dir / "h5_tokens/three_rows").string(), 0);

  unl::checkpoint::State s;
  s.tensors["model/w"] = torch::arange(4, torch::kFloat32);
  s.tensors["samples/flags"] = torch::tensor({1, 0}, torch::kBool);
  s.strings["config_toml"] = "lr = 1e-5\n";
  s.ints["step"] = 3;
  s.ints["epoch"] = 1;
  unl::checkpoint::write((dir / "checkpoint/small.h5").string(), s);
  return 0;
}
