// report.json and report.html. The HTML is self-contained: inline CSS and SVG line charts drawn
// here, so it opens from a cluster's scratch directory without network access.
#include "driver/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/config.h"
#include "common/error.h"
#include "common/hash.h"
#include "driver/state_io.h"

namespace unl::driver {
namespace {
using nlohmann::json;

json means(const std::vector<unlearn::SampleMetrics>& m, double ppl) {
  double ma = 0, el = 0, bleu = 0;
  for (const auto& x : m) {
    ma += x.ma;
    el += x.el;
    bleu += x.bleu;
  }
  const double n = m.empty() ? 1.0 : static_cast<double>(m.size());
  return {{"mean_ma", ma / n}, {"mean_el", el / n}, {"mean_bleu", bleu / n}, {"heldout_ppl", ppl}};
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

struct Series {
  std::string name, color;
  std::vector<double> x, y;
};

// A line chart as inline SVG: axes with min/max labels, one polyline per series, optional
// dashed horizontal threshold lines.
std::string svg_chart(const std::string& title, const std::vector<Series>& series,
                      const std::vector<std::pair<std::string, double>>& hlines, const std::string& xlabel) {
  const double W = 520, H = 260, L = 56, R = 12, T = 28, B = 36;
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  for (const auto& [n, v] : hlines) {
    ymin = std::min(ymin, v);
    ymax = std::max(ymax, v);
  }
  std::string o = fmt::format(R"(<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img"><title>{}</title>)",
                              W, H, W, H, esc(title));
  o += fmt::format(R"(<text x="{}" y="18" class="ct">{}</text>)", L, esc(title));
  if (xmin > xmax) {
    o += fmt::format(R"(<text x="{}" y="{}" class="empty">no data</text></svg>)", W / 2 - 30, H / 2);
    return o;
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) {
    ymax += 0.5 * std::max(1e-9, std::abs(ymax));
    ymin -= 0.5 * std::max(1e-9, std::abs(ymin));
  }
  auto px = [&](double x) { return L + (x - xmin) / (xmax - xmin) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - ymin) / (ymax - ymin) * (H - T - B); };
  o += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" class="ax"/><line x1="{0}" y1="{2}" x2="{3}" y2="{2}" class="ax"/>)",
                   L, T, H - B, W - R);
  o += fmt::format(R"(<text x="{}" y="{}" class="tick" text-anchor="end">{:.4g}</text>)", L - 4, py(ymax) + 4, ymax);
  o += fmt::format(R"(<text x="{}" y="{}" class="tick" text-anchor="end">{:.4g}</text>)", L - 4, py(ymin) + 4, ymin);
  o += fmt::format(R"(<text x="{}" y="{}" class="tick">{:.4g}</text>)", L, H - B + 14, xmin);
  o += fmt::format(R"(<text x="{}" y="{}" class="tick" text-anchor="end">{:.4g}</text>)", W - R, H - B + 14, xmax);
  o += fmt::format(R"(<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>)", (L + W - R) / 2, H - 6, esc(xlabel));
  for (const auto& [name, v] : hlines)
    o += fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" class="thr"/><text x="{}" y="{:.1f}" class="tick" text-anchor="end">{}</text>)",
                     L, py(v), W - R, py(v), W - R - 2, py(v) - 3, esc(name));
  double ly = T + 4;
  for (const auto& s : series) {
    std::string pts;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) pts += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
    o += fmt::format(R"(<polyline class="series" points="{}" fill="none" stroke="{}" stroke-width="1.8"/>)", pts, s.color);
    if (s.x.size() == 1)
      o += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)", px(s.x[0]), py(s.y[0]), s.color);
    o += fmt::format(R"(<text x="{}" y="{}" class="lg" fill="{}">{}</text>)", L + 8, ly + 8, s.color, esc(s.name));
    ly += 13;
  }
  return o + "</svg>";
}

const char* kColors[] = {"#c0392b", "#2471a3", "#229954", "#8e44ad", "#d68910", "#5d6d7e"};

}  // namespace

// eval.tasks: one row per metric, one column per evaluated epoch (0 = before unlearning).
std::string eval_tasks_table(const std::vector<json>& runs) {
  std::vector<std::string> names;
  for (const auto& run : runs)
    for (const auto& [k, v] : run["metrics"].items())
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
  std::string html = "<h2>Evaluation tasks</h2><table><tr><th class=l>metric</th>";
  for (const auto& run : runs) html += fmt::format("<th>epoch {}</th>", run["epoch"].get<int64_t>());
  html += "</tr>";
  for (const auto& n : names) {
    html += "<tr><td class=l>" + esc(n) + "</td>";
    for (const auto& run : runs) {
      const auto& m = run["metrics"];
      html += m.contains(n) && m[n].is_number() ? fmt::format("<td>{:.4f}</td>", m[n].get<double>()) : "<td></td>";
    }
    html += "</tr>";
  }
  return html + "</table>";
}

std::string render_report_html(const std::string& report_json, const std::string& metrics_jsonl) {
  const json r = json::parse(report_json);
  // Loss curves per term from step records.
  std::map<std::string, Series> terms;
  std::vector<json> task_runs;  // "eval_tasks" records (eval.tasks), in order
  std::istringstream lines(metrics_jsonl);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    json rec = json::parse(line, nullptr, false);
    if (!rec.is_discarded() && rec.value("type", "") == "eval_tasks") task_runs.push_back(rec);
    if (rec.is_discarded() || rec.value("type", "") != "step") continue;
    for (const auto& [k, v] : rec.items()) {
      if (!v.is_number() || k == "epoch" || k == "step" || k == "batch" || k == "active" || k == "tokens" ||
          k == "tokens_per_s" || k == "step_s" || k == "peak_rss_gib")
        continue;
      auto& s = terms[k];
      s.name = k;
      s.x.push_back(rec["step"].get<double>());
      s.y.push_back(v.get<double>());
    }
  }
  std::vector<Series> loss_series;
  size_t c = 0;
  for (auto& [k, s] : terms) {
    s.color = kColors[c++ % 6];
    loss_series.push_back(s);
  }
  Series ma{"mean MA", kColors[0], {}, {}}, el{"mean EL_n", kColors[1], {}, {}}, bleu{"mean BLEU", kColors[2], {}, {}};
  Series active{"active samples", kColors[3], {}, {}}, ppl{"held-out PPL", kColors[4], {}, {}};
  const json& before = r["before"];
  if (before.contains("mean_ma")) {
    ma.x.push_back(0);
    ma.y.push_back(before["mean_ma"].get<double>());
    el.x.push_back(0);
    el.y.push_back(before["mean_el"].get<double>());
    bleu.x.push_back(0);
    bleu.y.push_back(before["mean_bleu"].get<double>());
    active.x.push_back(0);
    active.y.push_back(r["forget_samples"].get<double>());
    if (before["heldout_ppl"].get<double>() > 0) {
      ppl.x.push_back(0);
      ppl.y.push_back(before["heldout_ppl"].get<double>());
    }
  }
  for (const auto& e : r["epochs"]) {
    const double x = e["epoch"].get<double>() + 1;
    ma.x.push_back(x);
    ma.y.push_back(e["mean_ma"].get<double>());
    el.x.push_back(x);
    el.y.push_back(e["mean_el"].get<double>());
    bleu.x.push_back(x);
    bleu.y.push_back(e["mean_bleu"].get<double>());
    active.x.push_back(x);
    active.y.push_back(e["active_after"].get<double>());
    if (e["heldout_ppl"].get<double>() > 0) {
      ppl.x.push_back(x);
      ppl.y.push_back(e["heldout_ppl"].get<double>());
    }
  }
  const json& th = r["thresholds"];
  std::string html = R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>unlearn report</title><style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1120px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.ok{color:#1e8449;font-weight:600}.no{color:#b03a2e;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;background:#fff}
.ct{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#555}.lg{font-size:11px}.ax{stroke:#888}
.thr{stroke:#888;stroke-dasharray:5 4}.empty{font-size:12px;fill:#999}pre{white-space:pre-wrap;font-size:12px;margin:0}
</style></head><body>)";
  html += "<h1>unlearn report</h1>";
  html += fmt::format("<p>Method <b>{}</b> on <b>{}</b> forget samples, {} rank(s). Stopped: <b>{}</b> after {} epoch(s), "
                      "{} step(s), {:.1f} s of training. unlearn {}.</p>",
                      esc(r["method"].get<std::string>()), r["forget_samples"].get<int64_t>(), r["world_size"].get<int64_t>(),
                      esc(r["stop_reason"].get<std::string>()), r["epochs"].size(), r["steps"].get<int64_t>(),
                      r["wall_s"].get<double>(), esc(r["unlearn_version"].get<std::string>()));
  const json& after = r["after"];
  html += "<h2>Before and after</h2><table><tr><th class=l>metric</th><th>before</th><th>after</th><th>threshold</th></tr>";
  auto row = [&](const char* name, const char* key, double thr, bool lower_is_goal) {
    if (!before.contains(key)) return;
    const double b = before[key].get<double>(), a = after[key].get<double>();
    std::string cls = thr < 0 ? "" : ((a < thr) == lower_is_goal ? "ok" : "no");
    html += fmt::format("<tr><td class=l>{}</td><td>{:.4f}</td><td class=\"{}\">{:.4f}</td><td>{}</td></tr>", name, b, cls, a,
                        thr < 0 ? std::string("") : fmt::format("&lt; {:.4f}", thr));
  };
  row("forget mean MA", "mean_ma", th["ma"].get<double>(), true);
  row(fmt::format("forget mean EL{}", th["n"].get<int64_t>()).c_str(), "mean_el", th["el"].get<double>(), true);
  row("forget mean BLEU-4", "mean_bleu", th["bleu"].get<double>(), true);
  if (before.contains("heldout_ppl") && before["heldout_ppl"].get<double>() > 0)
    row("held-out perplexity", "heldout_ppl", -1, true);
  html += "</table>";
  if (!task_runs.empty()) html += eval_tasks_table(task_runs);
  html += "<h2>Curves</h2><div class=charts>";
  html += svg_chart("loss terms per step", loss_series, {}, "step");
  html += svg_chart("forget MA / EL per epoch", {ma, el}, {{"tau_MA", th["ma"].get<double>()}, {"tau_EL", th["el"].get<double>()}}, "epoch");
  html += svg_chart("forget BLEU-4 per epoch", {bleu}, {{"tau_BLEU", th["bleu"].get<double>()}}, "epoch");
  html += svg_chart("active samples per epoch", {active}, {}, "epoch");
  html += svg_chart("held-out perplexity per epoch", {ppl}, {}, "epoch");
  html += "</div>";
  if (r.contains("examples") && !r["examples"].empty()) {
    html += "<h2>Example generations</h2><table><tr><th class=l>id</th><th class=l>prompt</th><th class=l>true continuation</th>"
            "<th class=l>before</th><th class=l>after</th></tr>";
    for (const auto& e : r["examples"])
      html += fmt::format("<tr><td class=l>{}</td><td class=l><pre>{}</pre></td><td class=l><pre>{}</pre></td><td class=l><pre>{}</pre></td>"
                          "<td class=l><pre>{}</pre></td></tr>",
                          e["id"].get<int64_t>(), esc(e["prompt"].get<std::string>()), esc(e["reference"].get<std::string>()),
                          esc(e["before"].get<std::string>()), esc(e["after"].get<std::string>()));
    html += "</table>";
  }
  html += "<h2>Per-sample outcomes</h2><table><tr><th>id</th><th>MA before</th><th>MA after</th><th>EL before</th>"
          "<th>EL after</th><th>BLEU before</th><th>BLEU after</th><th>forgotten (epoch)</th></tr>";
  for (const auto& s : r["samples"]) {
    const bool f = s["forgotten"].get<bool>();
    html += fmt::format("<tr><td>{}</td><td>{:.3f}</td><td>{:.3f}</td><td>{:.3f}</td><td>{:.3f}</td><td>{:.3f}</td><td>{:.3f}</td>"
                        "<td class=\"{}\">{}</td></tr>",
                        s["id"].get<int64_t>(), s["before"]["ma"].get<double>(), s["after"]["ma"].get<double>(),
                        s["before"]["el"].get<double>(), s["after"]["el"].get<double>(), s["before"]["bleu"].get<double>(),
                        s["after"]["bleu"].get<double>(), f ? "ok" : "no",
                        f ? fmt::format("yes ({})", s["forgotten_epoch"].get<int64_t>()) : std::string("no"));
  }
  html += "</table>";
  html += fmt::format("<h2>Audit</h2><table><tr><th class=l>what</th><th class=l>hash (XXH3-64)</th></tr>");
  for (const auto& [k, v] : r["hashes"].items())
    html += fmt::format("<tr><td class=l>{}</td><td class=l><code>{}</code></td></tr>", esc(k), esc(v.get<std::string>()));
  html += "</table></body></html>\n";
  return html;
}

void write_reports(const std::string& out_dir, const JobConfig& cfg, const JobState& state,
                   const unlearn::Thresholds& thresholds, const TokenSet& forget,
                   const model::Tokenizer* tokenizer, int world_size) {
  namespace fs = std::filesystem;
  json r;
  r["unlearn_version"] = UNL_VERSION;
  r["method"] = cfg.method.name;
  r["world_size"] = world_size;
  r["stop_reason"] = state.stop_reason;
  r["steps"] = state.step;
  r["wall_s"] = state.wall_s;
  r["sessions"] = state.sessions;
  r["forget_samples"] = static_cast<int64_t>(state.ids.size());
  r["thresholds"] = {{"rule", cfg.thresholds.rule}, {"ma", thresholds.ma}, {"el", thresholds.el},
                     {"bleu", thresholds.bleu}, {"bertscore", thresholds.bertscore},
                     {"n", cfg.eval.n}, {"mode", cfg.thresholds.mode},
                     {"refinement", cfg.thresholds.refinement}};
  const double ppl_after = state.history.empty() ? state.heldout_ppl_before : state.history.back().heldout_ppl;
  r["before"] = state.before.empty() ? json::object() : means(state.before, state.heldout_ppl_before);
  r["after"] = state.latest.empty() ? json::object() : means(state.latest, ppl_after);
  json epochs = json::array(), dropped = json::array();
  int64_t prev_active = static_cast<int64_t>(state.ids.size());
  for (const auto& e : state.history) {
    epochs.push_back({{"epoch", e.epoch}, {"active_before", e.active_before}, {"active_after", e.active_after},
                      {"mean_ma", e.mean_ma}, {"mean_el", e.mean_el}, {"mean_bleu", e.mean_bleu},
                      {"heldout_ppl", e.heldout_ppl}, {"wall_s", e.wall_s}, {"steps", e.steps}});
    dropped.push_back(prev_active - e.active_after);
    prev_active = e.active_after;
  }
  r["epochs"] = epochs;
  r["dropped_per_epoch"] = dropped;
  json samples = json::array();
  for (size_t i = 0; i < state.ids.size(); ++i) {
    json s = {{"id", state.ids[i]}, {"forgotten", state.flags.size() > i && state.flags[i] == 0},
              {"forgotten_epoch", state.forgotten_epoch.size() > i ? state.forgotten_epoch[i] : -1},
              {"neighbour", state.neighbour.size() > i ? state.neighbour[i] : -1}};
    auto put = [&](const char* key, const std::vector<unlearn::SampleMetrics>& m) {
      s[key] = i < m.size() ? json{{"ma", m[i].ma}, {"el", m[i].el}, {"bleu", m[i].bleu},
                                   {"bertscore", m[i].bertscore}, {"loss", m[i].loss}}
                            : json{{"ma", 0.0}, {"el", 0.0}, {"bleu", 0.0}, {"bertscore", -1.0}, {"loss", 0.0}};
    };
    put("before", state.before);
    put("after", state.latest);
    samples.push_back(s);
  }
  r["samples"] = samples;
  r["examples"] = json::array();
  for (const auto& e : state.examples) {
    r["examples"].push_back({{"id", e.id}, {"prompt", e.prompt}, {"reference", e.reference},
                             {"before", e.before}, {"after", e.after}});
  }
  r["hashes"] = {{"config (resume-relevant keys)", cfg.resume_hash()},
                 {"forget set", forget.hash},
                 {"model config.json", hex64(hash_file((fs::path(cfg.model.path) / "config.json").string()))}};
  const fs::path final_weights = fs::path(out_dir) / "final" / "model.safetensors";
  if (fs::exists(final_weights)) r["hashes"]["final model.safetensors"] = hex64(hash_file(final_weights.string()));
  const std::string report_json = r.dump(2);
  write_text_file((fs::path(out_dir) / "report.json").string(), report_json + "\n");
  std::string metrics;
  {
    std::ifstream in(fs::path(out_dir) / "metrics.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    metrics = ss.str();
  }
  write_text_file((fs::path(out_dir) / "report.html").string(), render_report_html(report_json, metrics));
  (void)tokenizer;
}

}  // namespace unl::driver
