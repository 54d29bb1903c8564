// The step: collate, global normalisers, local loss share, backward, bucketed all-reduce, verdict.
#include "driver/trainer.h"

#include <algorithm>
#include <cmath>

#include "comm/messages.h"
#include "common/error.h"
#include "data/data.h"
#include "model/activation_checkpointing.h"
#include "model/model.h"

namespace unl::driver {

namespace {

// Deterministic reductions: gradients in fixed point with 40 fractional bits. A per-sample value
// must stay below 2^22 / (samples in the global batch) so that no int64 sum can overflow.
constexpr double kFixedScale = 1099511627776.0;  // 2^40
constexpr double kFixedLimit = 4194304.0;        // 2^22

}  // namespace

Trainer::Trainer(model::CausalLMImpl& model, model::CausalLMImpl* reference, std::unique_ptr<unlearn::Method> method,
                 const TrainerOptions& options)
    : model_(model),
      reference_(reference),
      method_(std::move(method)),
      pad_id_(options.pad_id),
      device_(options.device),
      deterministic_(options.deterministic),
      batch_size_(options.batch_size),
      bf16_mixed_(options.bf16_mixed),
      micro_batch_size_(options.micro_batch_size),
      activation_checkpointing_(options.activation_checkpointing) {
  zero_stage_ = options.zero_stage;
  UNL_CHECK(zero_stage_ >= 0 && zero_stage_ <= 2, "train.zero_stage = " + std::to_string(zero_stage_) + " is not available",
            "use 0 (replicated), 1 (optimizer state sharded) or 2 (gradients too); stage 3 (parameters) is not "
            "implemented yet, see docs/large-models.md");
  const OptimConfig& optim = options.optim;
  const double bucket_mb = options.bucket_mb;
  unlearn::NamedTensors named;
  for (auto& [name, p] : model::hf_state_dict(model_)) {
    if (!p.requires_grad()) continue;
    named.emplace_back(name, p);
    params_.push_back(p);
  }
  unlearn::AdamOptions aopt;
  aopt.lr = optim.lr;
  aopt.beta1 = optim.beta1;
  aopt.beta2 = optim.beta2;
  aopt.eps = optim.eps;
  const auto bucket_bytes = static_cast<int64_t>(bucket_mb * (1 << 20));
  if (zero_stage_ >= 1) {
    // This rank's fp32 master slice, from the weights as loaded (before any cast to bf16).
    sharded_ = std::make_unique<engine::ShardedAdam>(named, params_, aopt, options.world, options.rank, bucket_bytes);
    if (bf16_mixed_) model_.to(torch::kBFloat16);
  } else if (bf16_mixed_) {
    // Masters first, from the weights as loaded (fp32 stays exact), then the model goes to bf16.
    // Module::to keeps the Parameter objects, so params_ and the reference's view stay valid.
    torch::NoGradGuard ng;
    for (auto& [name, p] : named) {
      auto m = p.detach().to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);
      m.mutable_grad() = torch::zeros_like(m);
      masters_.emplace_back(name, m);
    }
    model_.to(torch::kBFloat16);
  }
  // Gradients are allocated once and zeroed in place every step: the buckets alias them.
  for (auto& p : params_) p.mutable_grad() = torch::zeros_like(p);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!bf16_mixed_ || zero_stage_ == 2)
      reduce_grads_.push_back(params_[i].grad());  // fp32, or stage 2's bf16 (scattered as they come)
    else if (zero_stage_ == 1)
      reduce_grads_.push_back(torch::zeros_like(params_[i], torch::kFloat32));  // fp32 sums, then sliced
    else
      reduce_grads_.push_back(masters_[i].second.grad());
  }
  if (!sharded_) adam_ = std::make_unique<unlearn::Adam>(bf16_mixed_ ? masters_ : named, aopt);
  if (zero_stage_ < 2) bucketer_ = std::make_unique<comm::GradientBucketer>(reduce_grads_, bucket_bytes);
  if (deterministic_) {
    for (auto& g : reduce_grads_) fixed_.push_back(torch::zeros(g.sizes(), g.options().dtype(torch::kInt64)));
    if (zero_stage_ < 2) fixed_bucketer_ = std::make_unique<comm::GradientBucketer>(fixed_, bucket_bytes);
  }
}

void Trainer::apply(comm::Communicator& comm) {
  if (sharded_) {
    sharded_->step(comm);  // Adam on the slice, then every slice all-gathered into the model
    return;
  }
  adam_->step();
  if (bf16_mixed_) refresh_model_from_masters();
}

unlearn::NamedTensors Trainer::optimizer_state(comm::Communicator& comm, int root) const {
  return sharded_ ? sharded_->gather_state(comm, root) : adam_->state();
}

unlearn::NamedTensors Trainer::master_weights(comm::Communicator& comm, int root) const {
  if (!bf16_mixed_) return {};
  return sharded_ ? sharded_->gather_masters(comm, root) : masters_;
}

int64_t Trainer::optimizer_steps() const { return sharded_ ? sharded_->steps() : adam_->steps(); }

void Trainer::load_optimizer(const std::function<const torch::Tensor&(const std::string&)>& weight,
                             const unlearn::NamedTensors& state, int64_t steps) {
  if (sharded_) {
    sharded_->load(weight, state, steps);
    return;
  }
  adam_->load_state(state, steps);
  torch::NoGradGuard ng;
  for (const auto& [name, m] : masters_) m.copy_(weight(name));
}

void Trainer::refresh_model_from_masters() {
  if (!bf16_mixed_) return;
  torch::NoGradGuard ng;
  for (size_t i = 0; i < params_.size(); ++i) params_[i].copy_(masters_[i].second);  // round to nearest
}

void Trainer::zero_grads() {
  for (auto& p : params_) p.mutable_grad().zero_();
  if (bf16_mixed_ && zero_stage_ < 2)
    for (auto& g : reduce_grads_) g.zero_();
  if (sharded_) sharded_->zero_grad();
}

void Trainer::accumulate_backward(comm::Communicator& comm) {
  if (zero_stage_ == 2) {
    // This backward's gradients, summed over ranks, join this rank's fp32 slice; the full
    // buffers start over (fp32 or bf16: the scatter reads them in float32).
    std::vector<torch::Tensor> grads;
    for (auto& p : params_) grads.push_back(p.grad());
    torch::NoGradGuard ng;
    sharded_->grad().add_(sharded_->reduce_scatter(comm, grads, torch::kFloat32));
    for (auto& p : params_) p.mutable_grad().zero_();
    return;
  }
  // fp32: the gradients already accumulate in .grad(); autograd may in principle have replaced a
  // .grad() tensor, so the list to reduce is re-read.
  if (!bf16_mixed_) {
    for (size_t i = 0; i < params_.size(); ++i) reduce_grads_[i] = params_[i].grad();
    return;
  }
  // bf16-mixed: this backward's bf16 gradients join the fp32 sums; the bf16 buffers start over.
  torch::NoGradGuard ng;
  for (size_t i = 0; i < params_.size(); ++i) {
    reduce_grads_[i].add_(params_[i].grad());
    params_[i].mutable_grad().zero_();
  }
}

unlearn::Batch Trainer::collate(const LocalRows& rows) const {
  // Right padding: positions come from the mask, so the side only matters for generation. At
  // least one column even for a rank with no rows, so every tensor is well formed.
  unlearn::Batch batch;
  auto forget = data::collate(rows.forget, pad_id_, /*left_pad=*/false, /*pad_to=*/1, rows.forget_prompt);
  batch.forget_ids = forget.ids.to(device_);
  batch.forget_mask = forget.mask.to(device_);
  if (method_->needs_neighbours()) {
    auto neighbours = data::collate(rows.neighbours, pad_id_, /*left_pad=*/false, /*pad_to=*/1, rows.neighbour_prompt);
    batch.neighbour_ids = neighbours.ids.to(device_);
    batch.neighbour_mask = neighbours.mask.to(device_);
  }
  return batch;
}

std::vector<unlearn::Batch> Trainer::micro_batches(const LocalRows& rows) const {
  const size_t n = rows.forget.size();
  const size_t per = micro_batch_size_ > 0 ? static_cast<size_t>(micro_batch_size_) : std::max<size_t>(n, 1);
  std::vector<unlearn::Batch> out;
  for (size_t begin = 0; begin < n || out.empty(); begin += per) {
    const size_t end = std::min(n, begin + per);
    LocalRows part;
    part.forget.assign(rows.forget.begin() + begin, rows.forget.begin() + end);
    if (!rows.neighbours.empty()) part.neighbours.assign(rows.neighbours.begin() + begin, rows.neighbours.begin() + end);
    out.push_back(collate(part));
  }
  return out;
}

unlearn::TermCounts Trainer::global_counts(comm::Communicator& comm, const std::vector<unlearn::Batch>& batches,
                                           StepStats& stats) const {
  // Global normalisers first: every rank (and every micro-batch) divides its sums by the same
  // totals. Counts are sums, so the micro-batches' add up to the whole share's.
  unlearn::TermCounts counts;
  for (const auto& b : batches)
    for (const auto& [k, v] : method_->count(b)) counts[k] += v;
  std::vector<double> packed;
  for (const auto& [k, v] : counts) packed.push_back(v);
  if (!packed.empty())
    comm.allreduce(packed.data(), packed.size(), comm::DType::kFloat64, comm::ReduceOp::kSum);
  size_t k = 0;
  for (auto& [name, v] : counts) {
    v = packed[k++];
    if (name.find("tokens") != std::string::npos) stats.tokens += v;
  }
  return counts;
}

std::map<std::string, double> Trainer::batched_backward(comm::Communicator& comm,
                                                        const std::vector<unlearn::Batch>& batches,
                                                        const unlearn::TermCounts& counts, int64_t step,
                                                        RunHooks& hooks) {
  std::map<std::string, double> terms;
  // Stage 2 reduce-scatters after every micro-batch: every rank must join as many times, so a
  // rank with fewer micro-batches runs empty ones (no forward; it contributes zeros).
  size_t rounds = batches.size();
  if (zero_stage_ == 2) rounds = static_cast<size_t>(comm.allreduce_max(static_cast<int64_t>(rounds)));
  const unlearn::Batch empty_batch = rounds > batches.size() ? collate(LocalRows{}) : unlearn::Batch{};
  for (size_t round = 0; round < rounds; ++round) {
    const unlearn::Batch& batch = round < batches.size() ? batches[round] : empty_batch;
    // One forward and one backward per micro-batch (forget and neighbour rows together); the
    // gradients accumulate in place until the step's single all-reduce.
    unlearn::StepLoss loss;
    model::ActivationCheckpointing checkpointing(activation_checkpointing_);
    if (batch.rows() > 0) loss = method_->loss(model_, reference_, batch, counts);
    hooks.after_local_loss(step, comm.rank(), comm.size(), loss);
    if (loss.loss.defined()) loss.loss.backward();
    accumulate_backward(comm);
    for (const auto& [name, v] : loss.terms) terms[name] += v;
  }
  // Sum of local shares = the global-batch mean's gradient, for any world size.
  if (zero_stage_ < 2) bucketer_->allreduce(comm, reduce_grads_);
  return terms;
}

std::vector<std::pair<int64_t, std::map<std::string, double>>> Trainer::per_sample_backward(
    comm::Communicator& comm, const LocalRows& rows, const unlearn::TermCounts& counts, int64_t step,
    RunHooks& hooks) {
  torch::NoGradGuard outer_ng;
  for (auto& f : fixed_) f.zero_();
  const double limit = kFixedLimit / static_cast<double>(std::max<int64_t>(1, batch_size_));
  std::vector<std::pair<int64_t, std::map<std::string, double>>> terms;
  for (size_t j = 0; j < rows.forget.size(); ++j) {
    LocalRows one;
    one.forget = {rows.forget[j]};
    if (!rows.neighbours.empty()) one.neighbours = {rows.neighbours[j]};
    if (!rows.forget_prompt.empty()) one.forget_prompt = {rows.forget_prompt[j]};
    if (!rows.neighbour_prompt.empty()) one.neighbour_prompt = {rows.neighbour_prompt[j]};
    for (auto& p : params_) p.mutable_grad().zero_();
    unlearn::StepLoss loss;
    {
      torch::AutoGradMode grad_on(true);
      model::ActivationCheckpointing checkpointing(activation_checkpointing_);
      loss = method_->loss(model_, reference_, collate(one), counts);
      hooks.after_local_loss(step, comm.rank(), comm.size(), loss);
      if (loss.loss.defined()) loss.loss.backward();
    }
    for (size_t k = 0; k < params_.size(); ++k) {
      const auto g = params_[k].grad().to(torch::kFloat64);  // the sample's gradient, bf16 or fp32
      const double peak = g.abs().max().item<double>();
      // NaN/Inf pass through to the verdict below; only finite overflows are refused here.
      UNL_CHECK(!(std::isfinite(peak) && peak >= limit),
                "a per-sample gradient element of " + std::to_string(peak) +
                    " is too large for deterministic reductions (limit " + std::to_string(limit) + ")",
                "set runtime.deterministic_reductions = false, or lower optim.lr / method.w_forget");
      fixed_[k].add_(torch::where(torch::isfinite(g), g * kFixedScale, torch::zeros_like(g)).round().to(torch::kInt64));
    }
    terms.emplace_back(rows.ids[j], loss.terms);
  }
  if (zero_stage_ == 2) {
    // Exact int64 sums of this rank's slice only, converted as stage 0 converts the full sums.
    const torch::Tensor sum = sharded_->reduce_scatter(comm, fixed_, torch::kInt64);
    sharded_->grad().copy_((sum.to(torch::kFloat64) / kFixedScale).to(torch::kFloat32));
    for (auto& p : params_) p.mutable_grad().zero_();
    return terms;
  }
  fixed_bucketer_->allreduce(comm, fixed_);
  if (!bf16_mixed_)
    for (size_t k = 0; k < params_.size(); ++k) reduce_grads_[k] = params_[k].grad();
  for (size_t k = 0; k < params_.size(); ++k)
    reduce_grads_[k].copy_((fixed_[k].to(torch::kFloat64) / kFixedScale).to(reduce_grads_[k].scalar_type()));
  if (bf16_mixed_)
    for (auto& p : params_) p.mutable_grad().zero_();
  return terms;
}

StepStats Trainer::compute_gradients(comm::Communicator& comm, const LocalRows& rows, int64_t step,
                                     RunHooks& hooks) {
  StepStats stats;
  const std::vector<unlearn::Batch> batches = micro_batches(rows);
  unlearn::TermCounts counts = global_counts(comm, batches, stats);
  zero_grads();
  std::vector<std::map<std::string, double>> local_terms;
  if (!deterministic_) {
    local_terms.push_back(batched_backward(comm, batches, counts, step, hooks));
    auto gathered = comm::gather_objects(comm, local_terms.front());
    if (comm.rank() == 0)
      for (const auto& part : gathered)
        for (const auto& [name, v] : part) stats.terms[name] += v;
  } else {
    auto per_sample = per_sample_backward(comm, rows, counts, step, hooks);
    for (const auto& [id, t] : per_sample) local_terms.push_back(t);
    auto gathered = comm::gather_objects(comm, per_sample);
    if (comm.rank() == 0) {
      // Summed in sample-id order: the same additions, in the same order, on any world size.
      std::vector<std::pair<int64_t, std::map<std::string, double>>> all;
      for (auto& part : gathered) all.insert(all.end(), part.begin(), part.end());
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [id, t] : all)
        for (const auto& [name, v] : t) stats.terms[name] += v;
    }
  }
  if (zero_stage_ == 1) sharded_->take_slice(reduce_grads_);
  // At stage 2 only this rank's slice of the reduced gradient exists.
  if (zero_stage_ == 2)
    hooks.after_gradients_reduced(step, {sharded_->grad()});
  else
    hooks.after_gradients_reduced(step, reduce_grads_);
  bool local_ok = true;
  for (const auto& t : local_terms)
    for (const auto& [name, v] : t) local_ok = local_ok && std::isfinite(v);
  // One verdict for all ranks: a NaN on one rank alone must stop (or skip) the step everywhere,
  // or the ranks would take different branches and hang in the next collective.
  stats.finite = !comm.any(!local_ok);
  return stats;
}

}  // namespace unl::driver
