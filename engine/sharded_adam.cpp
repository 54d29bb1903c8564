// Sharded Adam: slices of the flat layout, bucketed reduce-scatter and all-gather, and the
// conversion between this rank's slice and full replicated-format tensors for checkpoints.
#include "engine/sharded_adam.h"

#include <algorithm>
#include <map>

#include "comm/tensor_ops.h"
#include "common/error.h"

namespace unl::engine {

namespace {

std::vector<int64_t> numels_of(const unlearn::NamedTensors& weights) {
  std::vector<int64_t> n;
  n.reserve(weights.size());
  for (const auto& [name, t] : weights) n.push_back(t.numel());
  return n;
}

// The dtype the weights travel in after a step: the targets' own when they share one (bfloat16
// halves the traffic), else float32 (every copy converts on arrival).
torch::Dtype gather_dtype(const std::vector<torch::Tensor>& targets) {
  if (targets.empty()) return torch::kFloat32;
  const auto t = targets.front().scalar_type();
  for (const auto& x : targets)
    if (x.scalar_type() != t) return torch::kFloat32;
  return t;
}

}  // namespace

ShardedAdam::ShardedAdam(const unlearn::NamedTensors& weights, std::vector<torch::Tensor> targets,
                         unlearn::AdamOptions options, int world, int rank, int64_t bucket_bytes)
    : targets_(std::move(targets)), layout_(numels_of(weights)), world_(world), rank_(rank), bucket_bytes_(bucket_bytes) {
  UNL_CHECK(targets_.size() == weights.size(),
            "sharded optimiser given " + std::to_string(weights.size()) + " weights for " +
                std::to_string(targets_.size()) + " parameters",
            "this is a bug: pass the trainable parameters once each, in the same order");
  UNL_CHECK(bucket_bytes_ > 0, "bucket size must be positive", "set runtime.bucket_mb > 0");
  std::vector<torch::Tensor> values;
  for (size_t i = 0; i < weights.size(); ++i) {
    names_.push_back(weights[i].first);
    shapes_.push_back(weights[i].second.sizes().vec());
    UNL_CHECK(targets_[i].numel() == weights[i].second.numel() && targets_[i].is_contiguous(),
              "parameter '" + weights[i].first + "' does not match its weights or is not contiguous",
              "this is a bug: the model's parameters are contiguous and listed in layout order");
    values.push_back(weights[i].second.detach());
  }
  const torch::Device device = weights.empty() ? torch::Device(torch::kCPU) : weights.front().second.device();
  const auto [begin, end] = range();
  torch::NoGradGuard ng;
  master_ = torch::zeros({end - begin}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  pack(values, begin, master_);
  grad_ = torch::zeros_like(master_);
  master_.mutable_grad() = grad_;
  adam_ = std::make_unique<unlearn::Adam>(unlearn::NamedTensors{{"slice", master_}}, options);
}

int64_t ShardedAdam::chunk_elems() const {
  const int64_t a = layout_.alignment();
  const int64_t wanted = std::max(a, bucket_bytes_ / 4 / a * a);
  return std::min(wanted, layout_.shard_size(world_));
}

void ShardedAdam::pack(const std::vector<torch::Tensor>& tensors, int64_t begin, torch::Tensor out) const {
  const int64_t n = out.numel();
  const auto pieces = layout_.pieces(begin, begin + n);
  int64_t covered = 0;
  for (const auto& p : pieces) covered += p.length;
  if (covered < n) out.zero_();  // padding, or a range past the last tensor
  for (const auto& p : pieces)
    out.narrow(0, p.flat_offset - begin, p.length)
        .copy_(tensors[static_cast<size_t>(p.tensor)].reshape({-1}).narrow(0, p.tensor_offset, p.length));
}

void ShardedAdam::unpack(const torch::Tensor& in, int64_t begin, std::vector<torch::Tensor>& tensors) const {
  for (const auto& p : layout_.pieces(begin, begin + in.numel()))
    tensors[static_cast<size_t>(p.tensor)].view({-1}).narrow(0, p.tensor_offset, p.length)
        .copy_(in.narrow(0, p.flat_offset - begin, p.length));
}

void ShardedAdam::take_slice(const std::vector<torch::Tensor>& reduced) {
  UNL_CHECK(reduced.size() == names_.size(), "gradient list does not match the layout",
            "this is a bug: pass every trainable parameter's gradient");
  torch::NoGradGuard ng;
  pack(reduced, range().first, grad_);
}

torch::Tensor ShardedAdam::reduce_scatter(comm::Communicator& comm, const std::vector<torch::Tensor>& local,
                                          torch::Dtype dtype) const {
  UNL_CHECK(local.size() == names_.size(), "gradient list does not match the layout",
            "this is a bug: pass every trainable parameter's gradient");
  torch::NoGradGuard ng;
  const int64_t s = layout_.shard_size(world_), c = chunk_elems();
  const auto options = master_.options().dtype(dtype);
  torch::Tensor out = torch::empty({s}, options);
  torch::Tensor send = torch::empty({world_ * c}, options);
  for (int64_t k = 0; k < s; k += c) {
    const int64_t len = std::min(c, s - k);
    torch::Tensor block = send.narrow(0, 0, world_ * len);
    for (int q = 0; q < world_; ++q) pack(local, q * s + k, block.narrow(0, q * len, len));
    torch::Tensor mine = out.narrow(0, k, len);
    comm::reduce_scatter_tensor(comm, block, mine);
  }
  return out;
}

void ShardedAdam::step(comm::Communicator& comm) {
  adam_->step();
  torch::NoGradGuard ng;
  const int64_t s = layout_.shard_size(world_), c = chunk_elems();
  const auto dtype = gather_dtype(targets_);
  torch::Tensor recv = torch::empty({world_ * c}, master_.options().dtype(dtype));
  for (int64_t k = 0; k < s; k += c) {
    const int64_t len = std::min(c, s - k);
    const torch::Tensor mine = master_.narrow(0, k, len).to(dtype).contiguous();  // round to nearest
    torch::Tensor all = recv.narrow(0, 0, world_ * len);
    comm::allgather_tensor(comm, mine, all);
    for (int q = 0; q < world_; ++q) unpack(all.narrow(0, q * len, len), q * s + k, targets_);
  }
}

std::vector<torch::Tensor> ShardedAdam::gather_full(comm::Communicator& comm, const torch::Tensor& slice,
                                                    int root) const {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> full;
  if (comm.rank() == root)
    for (const auto& shape : shapes_) full.push_back(torch::empty(shape, torch::kFloat32));
  const int64_t s = layout_.shard_size(world_), c = chunk_elems();
  torch::Tensor recv = torch::empty({world_ * c}, slice.options());
  for (int64_t k = 0; k < s; k += c) {
    const int64_t len = std::min(c, s - k);
    torch::Tensor all = recv.narrow(0, 0, world_ * len);
    comm::allgather_tensor(comm, slice.narrow(0, k, len).contiguous(), all);
    if (comm.rank() == root)
      for (int q = 0; q < world_; ++q) unpack(all.narrow(0, q * len, len), q * s + k, full);
  }
  return full;
}

unlearn::NamedTensors ShardedAdam::gather_state(comm::Communicator& comm, int root) const {
  const auto slices = adam_->state();  // exp_avg.slice, exp_avg_sq.slice
  const auto avg = gather_full(comm, slices.at(0).second, root);
  const auto avg_sq = gather_full(comm, slices.at(1).second, root);
  unlearn::NamedTensors out;
  if (comm.rank() != root) return out;
  for (size_t i = 0; i < names_.size(); ++i) {
    out.emplace_back("exp_avg." + names_[i], avg[i]);
    out.emplace_back("exp_avg_sq." + names_[i], avg_sq[i]);
  }
  return out;
}

unlearn::NamedTensors ShardedAdam::gather_masters(comm::Communicator& comm, int root) const {
  const auto full = gather_full(comm, master_, root);
  unlearn::NamedTensors out;
  if (comm.rank() != root) return out;
  for (size_t i = 0; i < names_.size(); ++i) out.emplace_back(names_[i], full[i]);
  return out;
}

void ShardedAdam::load(const std::function<const torch::Tensor&(const std::string&)>& weight,
                       const unlearn::NamedTensors& state, int64_t steps) {
  // Validate everything first: a failed load leaves the optimiser as it was.
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, t] : state) by_name[name] = &t;
  std::vector<torch::Tensor> weights, avg, avg_sq;
  for (size_t i = 0; i < names_.size(); ++i) {
    const torch::Tensor& w = weight(names_[i]);
    UNL_CHECK(w.sizes().vec() == shapes_[i],
              "saved weight '" + names_[i] + "' has shape " + c10::str(w.sizes()) + ", the parameter needs " +
                  c10::str(c10::IntArrayRef(shapes_[i])),
              "the checkpoint belongs to another model; use --fresh");
    weights.push_back(w);
    for (auto [prefix, into] : {std::pair{"exp_avg.", &avg}, std::pair{"exp_avg_sq.", &avg_sq}}) {
      const std::string key = prefix + names_[i];
      auto it = by_name.find(key);
      UNL_CHECK(it != by_name.end(), "optimiser state lacks '" + key + "'",
                "the checkpoint belongs to another model or method; use --fresh");
      UNL_CHECK(it->second->sizes().vec() == shapes_[i],
                "optimiser state '" + key + "' has shape " + c10::str(it->second->sizes()) + ", the parameter needs " +
                    c10::str(c10::IntArrayRef(shapes_[i])),
                "the checkpoint belongs to another model; use --fresh");
      into->push_back(*it->second);
      by_name.erase(it);
    }
  }
  UNL_CHECK(by_name.empty(),
            "optimiser state holds '" + (by_name.empty() ? std::string() : by_name.begin()->first) +
                "', which matches no trainable parameter",
            "the checkpoint belongs to another model; use --fresh");
  torch::NoGradGuard ng;
  const int64_t begin = range().first;
  torch::Tensor m = torch::empty_like(master_), v = torch::empty_like(master_);
  pack(avg, begin, m);
  pack(avg_sq, begin, v);
  adam_->load_state({{"exp_avg.slice", m}, {"exp_avg_sq.slice", v}}, steps);
  pack(weights, begin, master_);
}

}  // namespace unl::engine
