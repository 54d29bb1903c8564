// choice / lambada / dialogue / ppl (official ICU valid.py semantics) and membership inference.
#include "eval/tasks.h"

#include <cmath>
#include <functional>
#include <limits>

#include "common/error.h"
#include "eval/stats.h"
#include "eval/text_metrics.h"
#include "eval/tofu.h"

namespace unl::eval {
namespace {
using nlohmann::ordered_json;

/// context + continuation cut to max_length tokens by dropping context tokens on the left.
Request loglik_request(std::vector<int64_t> ctx, std::vector<int64_t> cont, int64_t max_length, const std::string& where) {
  UNL_CHECK(!cont.empty(), where + ": the continuation encodes to no tokens", "give a non-empty answer / target");
  UNL_CHECK(static_cast<int64_t>(cont.size()) < max_length,
            where + ": the continuation has " + std::to_string(cont.size()) + " tokens, the model sees " +
                std::to_string(max_length),
            "shorten it or raise --max-length");
  const int64_t keep = max_length - static_cast<int64_t>(cont.size());
  if (static_cast<int64_t>(ctx.size()) > keep) ctx.erase(ctx.begin(), ctx.end() - keep);
  UNL_CHECK(!ctx.empty(), where + ": the context encodes to no tokens", "give a non-empty context");
  return {std::move(ctx), std::move(cont)};
}

class ChoiceTask final : public Task {
 public:
  ChoiceTask(const TaskSpec& s, const model::Tokenizer& tok, const TaskOptions& o) : Task(s.name), docs_(read_choice_file(s.path)) {
    for (size_t d = 0; d < docs_.size(); ++d) {
      const auto ctx = tok.encode(docs_[d].context);
      for (size_t c = 0; c < docs_[d].choices.size(); ++c) {
        requests_.push_back(loglik_request(ctx, tok.encode(docs_[d].choices[c], false), o.max_length,
                                           s.path + " item " + std::to_string(d) + " choice " + std::to_string(c)));
      }
    }
  }
  RequestKind kind() const override { return RequestKind::kLoglik; }
  std::vector<MetricResult> results(const std::vector<Output>& out, const std::vector<Output>*) const override {
    MetricResult acc, norm;
    acc.name = name_ + "_acc";
    norm.name = name_ + "_acc_norm";
    double sum_acc = 0, sum_norm = 0;
    size_t r = 0;
    for (size_t d = 0; d < docs_.size(); ++d) {
      const auto& doc = docs_[d];
      std::vector<double> lp, lpn;
      for (size_t c = 0; c < doc.choices.size(); ++c, ++r) {
        lp.push_back(out[r].values[0]);
        lpn.push_back(out[r].values[0] / static_cast<double>(doc.choices[c].size()));
      }
      const int64_t pred = std::max_element(lp.begin(), lp.end()) - lp.begin();
      const int64_t pred_n = std::max_element(lpn.begin(), lpn.end()) - lpn.begin();
      const bool ok = pred == doc.label, ok_n = pred_n == doc.label;
      sum_acc += ok, sum_norm += ok_n;
      acc.value_by_index[static_cast<int64_t>(d)] = {{"score", ok ? 1.0 : 0.0}, {"pred", pred}, {"label", doc.label}, {"logprobs", lp}};
      norm.value_by_index[static_cast<int64_t>(d)] = {{"score", ok_n ? 1.0 : 0.0}, {"pred", pred_n}, {"label", doc.label}};
    }
    acc.agg_value = sum_acc / static_cast<double>(docs_.size());
    norm.agg_value = sum_norm / static_cast<double>(docs_.size());
    return {acc, norm};
  }

 private:
  std::vector<ChoiceDoc> docs_;
};

class LambadaTask final : public Task {
 public:
  LambadaTask(const TaskSpec& s, const model::Tokenizer& tok, const TaskOptions& o)
      : Task(s.name), docs_(read_lambada_file(s.path)), tok_(tok) {
    for (size_t d = 0; d < docs_.size(); ++d)
      requests_.push_back(loglik_request(tok.encode(docs_[d].context), tok.encode(docs_[d].target, false), o.max_length,
                                         s.path + " item " + std::to_string(d)));
  }
  RequestKind kind() const override { return RequestKind::kLoglik; }
  std::vector<MetricResult> results(const std::vector<Output>& out, const std::vector<Output>*) const override {
    MetricResult acc;
    acc.name = name_ + "_acc";
    double sum = 0;
    const bool clean = tok_.clean_up_tokenization_spaces();
    for (size_t d = 0; d < docs_.size(); ++d) {
      // valid.py: correct when every greedy token is the target's, or the greedy text equals the
      // target text after SQuAD normalisation.
      const std::string greedy = tok_.decode(out[d].tokens, true, clean);
      const bool ok = out[d].values[1] > 0.5 || squad_normalize(greedy) == squad_normalize(docs_[d].target);
      sum += ok;
      acc.value_by_index[static_cast<int64_t>(d)] = {{"score", ok ? 1.0 : 0.0}, {"loss", -out[d].values[0]}, {"greedy", greedy}};
    }
    acc.agg_value = sum / static_cast<double>(docs_.size());
    return {acc};
  }

 private:
  std::vector<LambadaDoc> docs_;
  const model::Tokenizer& tok_;
};

class DialogueTask final : public Task {
 public:
  DialogueTask(const TaskSpec& s, const model::Tokenizer& tok, const TaskOptions& o)
      : Task(s.name), docs_(read_dialogue_file(s.path)), tok_(tok) {
    const int64_t keep = o.max_length - o.reply_tokens;
    UNL_CHECK(keep >= 1, "dialogue: --max-length must exceed the reply length " + std::to_string(o.reply_tokens), "raise --max-length");
    for (size_t d = 0; d < docs_.size(); ++d) {
      auto ctx = tok.encode(docs_[d].context);
      if (static_cast<int64_t>(ctx.size()) > keep) ctx.erase(ctx.begin(), ctx.end() - keep);
      UNL_CHECK(!ctx.empty(), s.path + " item " + std::to_string(d) + ": the context encodes to no tokens", "give a non-empty context");
      requests_.push_back({std::move(ctx), {}});
    }
  }
  RequestKind kind() const override { return RequestKind::kGenerate; }
  std::vector<MetricResult> results(const std::vector<Output>& out, const std::vector<Output>*) const override {
    MetricResult f1;
    f1.name = name_ + "_f1";
    double sum = 0;
    const bool clean = tok_.clean_up_tokenization_spaces();
    for (size_t d = 0; d < docs_.size(); ++d) {
      std::string reply = tok_.decode(out[d].tokens, true, clean);
      if (auto cut = reply.find("\nUser "); cut != std::string::npos) reply.resize(cut);  // valid.py's split
      const double f = unigram_f1(reply, docs_[d].response);
      sum += f;
      f1.value_by_index[static_cast<int64_t>(d)] = {{"score", f}, {"generated", reply}};
    }
    f1.agg_value = sum / static_cast<double>(docs_.size());
    return {f1};
  }

 private:
  std::vector<DialogueDoc> docs_;
  const model::Tokenizer& tok_;
};

class PplTask final : public Task {
 public:
  PplTask(const TaskSpec& s, const model::Tokenizer& tok, const TaskOptions& o) : Task(s.name) {
    UNL_CHECK(o.ppl_window >= 2, "ppl window must be at least 2 tokens", "raise --ppl-window");
    const auto docs = read_ppl_file(s.path);
    std::string joined;
    for (size_t i = 0; i < docs.size(); ++i) joined += (i ? "\n\n" : "") + docs[i];
    const auto ids = tok.encode(joined);
    for (size_t b = 0; b < ids.size(); b += static_cast<size_t>(o.ppl_window)) {
      const size_t e = std::min(ids.size(), b + static_cast<size_t>(o.ppl_window));
      if (e - b >= 2) requests_.push_back({std::vector<int64_t>(ids.begin() + b, ids.begin() + e), {}});
    }
    UNL_CHECK(!requests_.empty(), "ppl task '" + s.path + "' encodes to fewer than two tokens", "give it more text");
  }
  RequestKind kind() const override { return RequestKind::kScore; }
  std::vector<MetricResult> results(const std::vector<Output>& out, const std::vector<Output>*) const override {
    // valid.py: exp of the mean over windows of each window's mean token loss.
    MetricResult ppl;
    ppl.name = name_ + "_ppl";
    double sum = 0;
    for (size_t w = 0; w < out.size(); ++w) {
      sum += out[w].values[kLoss];
      ppl.value_by_index[static_cast<int64_t>(w)] = {{"loss", out[w].values[kLoss]}, {"tokens", static_cast<int64_t>(out[w].values[kTokens])}};
    }
    ppl.agg_value = std::exp(sum / static_cast<double>(out.size()));
    return {ppl};
  }
};

class MiaTask final : public Task {
 public:
  MiaTask(const std::string& name, const std::vector<std::vector<int64_t>>& forget,
          const std::vector<std::vector<int64_t>>& holdout, const model::Tokenizer& tok, const TaskOptions& o)
      : Task(name), n_forget_(forget.size()), retain_auc_(o.retain_auc) {
    UNL_CHECK(!forget.empty() && !holdout.empty(), "membership inference needs a forget and a held-out set",
              "pass --forget and --heldout with the mia task");
    for (const auto* set : {&forget, &holdout})
      for (const auto& x : *set) {
        UNL_CHECK(x.size() >= 2, "a membership-inference sample has fewer than two tokens", "drop empty samples");
        requests_.push_back({x, {}});
        zlib_.push_back(static_cast<double>(zlib_size(tok.decode(x, true, false))));
      }
  }
  RequestKind kind() const override { return RequestKind::kScore; }
  bool uses_reference() const override { return true; }
  std::vector<MetricResult> results(const std::vector<Output>& out, const std::vector<Output>* ref) const override {
    struct Score {
      const char* name;
      std::function<double(size_t)> value;
    };
    std::vector<Score> scores = {
        {"mia_loss", [&](size_t i) { return out[i].values[kLoss]; }},
        {"mia_zlib", [&](size_t i) { return out[i].values[kLoss] / zlib_[i]; }},
        {"mia_min_k", [&](size_t i) { return out[i].values[kMinK]; }},
        {"mia_min_k_plus_plus", [&](size_t i) { return out[i].values[kMinKPlusPlus]; }},
    };
    if (ref) scores.push_back({"mia_reference", [&](size_t i) { return out[i].values[kLoss] - (*ref)[i].values[kLoss]; }});
    std::vector<MetricResult> res;
    double min_k_auc = 0;
    for (const auto& s : scores) {
      std::vector<double> f, h;
      ordered_json fb = ordered_json::object(), hb = ordered_json::object();
      for (size_t i = 0; i < out.size(); ++i) {
        const double v = s.value(i);
        if (i < n_forget_) f.push_back(v), fb[std::to_string(i)] = {{"score", json_number(v)}};
        else h.push_back(v), hb[std::to_string(i - n_forget_)] = {{"score", json_number(v)}};
      }
      MetricResult m;
      m.name = s.name;
      m.agg_value = roc_auc(f, h);
      m.extra["auc"] = json_number(m.agg_value);
      m.extra["forget"] = {{"agg_value", json_number(mean(f))}, {"value_by_index", fb}};
      m.extra["holdout"] = {{"agg_value", json_number(mean(h))}, {"value_by_index", hb}};
      if (std::string(s.name) == "mia_min_k") min_k_auc = m.agg_value;
      res.push_back(std::move(m));
    }
    for (auto [field, metric] : {std::pair{kExactMemorization, "exact_memorization"}, std::pair{kExtractionStrength, "extraction_strength"}}) {
      MetricResult m;
      m.name = metric;
      double sum = 0;
      for (size_t i = 0; i < n_forget_; ++i) {
        sum += out[i].values[field];
        m.value_by_index[static_cast<int64_t>(i)] = {{"score", out[i].values[field]}};
      }
      m.agg_value = sum / static_cast<double>(n_forget_);
      res.push_back(std::move(m));
    }
    if (retain_auc_) {
      MetricResult p;
      p.name = "privleak";
      p.agg_value = priv_leak(min_k_auc, *retain_auc_);
      p.extra["auc"] = json_number(min_k_auc);
      p.extra["retain_auc"] = *retain_auc_;
      res.push_back(std::move(p));
    }
    return res;
  }

 private:
  size_t n_forget_;
  std::optional<double> retain_auc_;
  std::vector<double> zlib_;
};

class TofuTask final : public Task {
 public:
  TofuTask(const TaskSpec& s, const QaEncodeFn& encode, const DecodeFn& decode, const TaskOptions& o)
      : Task(s.name),
        role_(s.kind == "tofu" ? TofuRole::kForget : s.kind == "tofu_retain" ? TofuRole::kRetain : TofuRole::kOptions),
        docs_(read_tofu_file(s.path, role_ != TofuRole::kOptions)),
        decode_(decode) {
    UNL_CHECK(o.max_length >= 2 && o.answer_tokens >= 1, "tofu: --max-length must be >= 2 and --answer-tokens >= 1",
              "raise them");
    if (role_ == TofuRole::kForget && !o.retain_eval.empty())
      retain_tr_ = read_truth_ratios(o.retain_eval, name_ + "_truth_ratio");
    // Every greedy answer gets the same budget, so a batch of them never exceeds max_length.
    const int64_t new_tokens = std::min(o.answer_tokens, std::max<int64_t>(1, o.max_length / 2));
    for (size_t d = 0; d < docs_.size(); ++d) {
      const auto& doc = docs_[d];
      const std::string at = s.path + " row " + std::to_string(d);
      Offsets off;
      auto add = [&](const std::string& answer, const std::string& what) {
        const auto qa = encode(doc.question, answer);
        UNL_CHECK(qa.prompt_len >= 1 && qa.prompt_len < static_cast<int64_t>(qa.tokens.size()),
                  at + ": the question or the " + what + " encodes to no tokens", "give non-empty text");
        const std::vector<int64_t> ctx(qa.tokens.begin(), qa.tokens.begin() + qa.prompt_len);
        const std::vector<int64_t> cont(qa.tokens.begin() + qa.prompt_len, qa.tokens.end());
        requests_.push_back(loglik_request(ctx, cont, o.max_length, at + " " + what));
        kinds_.push_back(RequestKind::kLoglik);
        return requests_.size() - 1;
      };
      off.answer = add(doc.answer, "answer");
      if (role_ != TofuRole::kOptions) off.paraphrased = add(doc.paraphrased, "paraphrased_answer");
      off.perturbed_begin = requests_.size();
      for (size_t p = 0; p < doc.perturbed.size(); ++p) add(doc.perturbed[p], "perturbed_answer " + std::to_string(p));
      off.perturbed_end = requests_.size();
      // The greedy answer continues the question as the answer's log-likelihood reads it.
      const auto qa = encode(doc.question, doc.answer);
      std::vector<int64_t> prompt(qa.tokens.begin(), qa.tokens.begin() + qa.prompt_len);
      const int64_t keep = o.max_length - new_tokens;
      if (static_cast<int64_t>(prompt.size()) > keep) prompt.erase(prompt.begin(), prompt.end() - keep);
      Request g{std::move(prompt), {}};
      g.max_new_tokens = new_tokens;
      requests_.push_back(std::move(g));
      kinds_.push_back(RequestKind::kGenerate);
      off.generation = requests_.size() - 1;
      offsets_.push_back(off);
    }
  }
  RequestKind kind() const override { return RequestKind::kLoglik; }
  RequestKind kind_of(size_t i) const override { return kinds_.at(i); }
  std::vector<std::string> utility_metrics() const override { return tofu_utility_metrics(name_, role_); }
  std::vector<MetricResult> results(const std::vector<Output>& out, const std::vector<Output>*) const override {
    auto ll = [&](size_t i) { return AnswerLoglik{out[i].values[0], static_cast<int64_t>(requests_[i].continuation.size())}; };
    std::vector<TofuRowScores> rows;
    for (const auto& off : offsets_) {
      TofuRowScores r;
      r.answer = ll(off.answer);
      if (role_ != TofuRole::kOptions) r.paraphrased = ll(off.paraphrased);
      for (size_t i = off.perturbed_begin; i < off.perturbed_end; ++i) r.perturbed.push_back(ll(i));
      r.generation = decode_(out[off.generation].tokens);
      rows.push_back(std::move(r));
    }
    return tofu_metrics(name_, role_, docs_, rows, retain_tr_);
  }

 private:
  struct Offsets {
    size_t answer = 0, paraphrased = 0, perturbed_begin = 0, perturbed_end = 0, generation = 0;
  };
  TofuRole role_;
  std::vector<TofuDoc> docs_;
  DecodeFn decode_;
  std::optional<std::vector<double>> retain_tr_;
  std::vector<RequestKind> kinds_;
  std::vector<Offsets> offsets_;
};

}  // namespace

std::unique_ptr<Task> make_file_task(const TaskSpec& spec, const model::Tokenizer& tok, const TaskOptions& options) {
  if (spec.kind == "choice") return std::make_unique<ChoiceTask>(spec, tok, options);
  if (spec.kind == "lambada") return std::make_unique<LambadaTask>(spec, tok, options);
  if (spec.kind == "dialogue") return std::make_unique<DialogueTask>(spec, tok, options);
  if (spec.kind == "ppl") return std::make_unique<PplTask>(spec, tok, options);
  if (spec.kind.rfind("tofu", 0) == 0)
    UNL_USAGE_ERROR("task kind '" + spec.kind + "' needs a question/answer encoder", "this is a bug: call make_tofu_task");
  UNL_USAGE_ERROR("task kind '" + spec.kind + "' reads no file", "use choice, lambada, dialogue or ppl with a file");
}

std::unique_ptr<Task> make_tofu_task(const TaskSpec& spec, const QaEncodeFn& encode, const DecodeFn& decode,
                                     const TaskOptions& options) {
  UNL_CHECK(spec.kind == "tofu" || spec.kind == "tofu_retain" || spec.kind == "tofu_options",
            "make_tofu_task: task kind '" + spec.kind + "' is not a TOFU kind", "this is a bug in the caller");
  return std::make_unique<TofuTask>(spec, encode, decode, options);
}

std::unique_ptr<Task> make_mia_task(const std::string& name, const std::vector<std::vector<int64_t>>& forget,
                                    const std::vector<std::vector<int64_t>>& holdout, const model::Tokenizer& tok,
                                    const TaskOptions& options) {
  return std::make_unique<MiaTask>(name, forget, holdout, tok, options);
}

}  // namespace unl::eval
