// Checkpoint I/O throughput: writes and reads a GPT-Neo-125M-shaped training state (weights + two
// Adam moments, fp32, ~1.5 GB) and the same bytes with plain write()/read(), printing one JSON line.
// Usage: bench_checkpoint_io <dir> [million_params=125] [repeats=3]   (best of the repeats)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Evict a file's pages from the page cache (no root needed), so the next read hits the disk.
void drop_cache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

/// GPT-Neo-shaped parameter list (d=768, 4d MLP) totalling about `target` elements.
std::vector<std::pair<std::string, std::vector<std::int64_t>>> param_shapes(std::int64_t target) {
  const std::int64_t d = 768, vocab = 50257;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> out;
  std::int64_t total = 0;
  if (target >= 2 * vocab * d) {
    out.push_back({"transformer.wte.weight", {vocab, d}});
    total += vocab * d;
  }
  for (int layer = 0; total < target; ++layer) {
    std::string p = "transformer.h." + std::to_string(layer) + ".";
    for (const char* n : {"attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight", "attn.out_proj.weight"})
      out.push_back({p + n, {d, d}});
    out.push_back({p + "mlp.c_fc.weight", {4 * d, d}});
    out.push_back({p + "mlp.c_fc.bias", {4 * d}});
    out.push_back({p + "mlp.c_proj.weight", {d, 4 * d}});
    out.push_back({p + "ln_1.weight", {d}});
    total += 12 * d * d + 4 * d + d;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <dir> [million_params=125]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const double millions = argc > 2 ? std::atof(argv[2]) : 125.0;
  try {
    unl::checkpoint::State state;
    std::int64_t params = 0;
    for (const auto& [name, shape] : param_shapes(static_cast<std::int64_t>(millions * 1e6))) {
      // fill_ touches every page, so the timed write measures I/O and not page faults.
      state.tensors["model/" + name] = torch::empty(shape).fill_(1.0f);
      state.tensors["optim/exp_avg/" + name] = torch::empty(shape).fill_(0.5f);
      state.tensors["optim/exp_avg_sq/" + name] = torch::empty(shape).fill_(0.25f);
      params += state.tensors["model/" + name].numel();
    }
    state.ints["step"] = 1;
    state.strings["config_toml"] = "[train]\nlr = 5e-5\n";
    std::uint64_t bytes = 0;
    for (const auto& [name, t] : state.tensors) bytes += t.numel() * t.element_size();

    // Disk throughput on a shared VM moves a lot from one write to the next: alternate the
    // baseline and the checkpoint `reps` times and keep the best of each.
    const int reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
    double raw_write_s = 1e30, raw_read_s = 1e30, write_s = 1e30, read_s = 1e30, read_cached_s = 1e30;
    std::size_t tensor_count = 0;
    for (int rep = 0; rep < reps; ++rep) {
    // Baseline: the same bytes with plain write() + fsync, like dd conv=fsync.
    const std::string raw = dir + "/bench_raw.bin";
    auto t0 = Clock::now();
    int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + raw);
    for (const auto& [name, t] : state.tensors) {
      const char* p = static_cast<const char*>(t.data_ptr());
      std::size_t left = t.numel() * t.element_size();
      while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n <= 0) throw std::runtime_error("write failed on " + raw);
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    ::fsync(fd);
    ::close(fd);
    raw_write_s = std::min(raw_write_s, seconds_since(t0));
    drop_cache(raw);
    // Read back into freshly allocated tensors, as a resume must (page faults included).
    std::vector<std::size_t> sizes;
    for (const auto& [name, t] : state.tensors) sizes.push_back(t.numel() * t.element_size());
    t0 = Clock::now();
    fd = ::open(raw.c_str(), O_RDONLY);
    std::vector<torch::Tensor> raw_back;
    for (std::size_t size : sizes) {
      raw_back.push_back(torch::empty({static_cast<std::int64_t>(size)}, torch::kUInt8));
      char* p = static_cast<char*>(raw_back.back().data_ptr());
      while (size > 0) {
        ssize_t n = ::read(fd, p, size);
        if (n <= 0) throw std::runtime_error("read failed on " + raw);
        p += n;
        size -= static_cast<std::size_t>(n);
      }
    }
    ::close(fd);
    raw_read_s = std::min(raw_read_s, seconds_since(t0));
    raw_back.clear();
    ::unlink(raw.c_str());

    const std::string path = dir + "/bench_ckpt.h5";
    t0 = Clock::now();
    unl::checkpoint::write(path, state);  // includes fsync, rename and directory fsync
    write_s = std::min(write_s, seconds_since(t0));
    drop_cache(path);
    t0 = Clock::now();
    unl::checkpoint::State back = unl::checkpoint::read(path);  // includes checksum verification
    read_s = std::min(read_s, seconds_since(t0));
    tensor_count = back.tensors.size();
    back.tensors.clear();
    t0 = Clock::now();
    back = unl::checkpoint::read(path);  // page cache warm: the format's own overhead
    read_cached_s = std::min(read_cached_s, seconds_since(t0));
    ::unlink(path.c_str());

    }
    const double gb = static_cast<double>(bytes) / 1e9;
    std::printf(
        "{\"bench\":\"checkpoint_io\",\"params\":%lld,\"tensors\":%zu,\"bytes\":%llu,"
        "\"write_s\":%.3f,\"write_gbps\":%.3f,\"raw_write_gbps\":%.3f,"
        "\"read_s\":%.3f,\"read_gbps\":%.3f,\"raw_read_gbps\":%.3f,\"read_cached_gbps\":%.3f}\n",
        static_cast<long long>(params), tensor_count, static_cast<unsigned long long>(bytes),
        write_s, gb / write_s, gb / raw_write_s, read_s, gb / read_s, gb / raw_read_s,
        gb / read_cached_s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_checkpoint_io: %s\n", e.what());
    return 1;
  }
}
