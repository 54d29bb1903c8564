// Command-line parsing and dispatch. MPI is started only by the subcommands that run as a job
// (run, train, eval); an exception on any rank is logged with its rank and ends the whole job.
#include "driver/cli.h"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "comm/communicator.h"
#include "comm/mpi_env.h"
#include "common/common.h"
#include "driver/commands.h"
#include "driver/demo.h"
#include "driver/job_config.h"
#include "driver/plan.h"
#include "driver/run_hooks.h"
#include "driver/run_loop.h"

namespace unl::driver {
namespace {

// Runs `body` as an MPI job: errors on any rank abort every rank (no hang), with the rank named.
int as_job(int* argc, char*** argv, const std::string& backend, double stall_timeout,
           const std::function<int(comm::Communicator&)>& body) {
  comm::MpiEnvironment env(argc, argv);
  log::init(env.world_rank(), env.world_size());
  std::unique_ptr<comm::Communicator> comm;
  int code = 0;
  try {
    comm::CommOptions o;
    o.backend = env.world_size() == 1 && backend == "auto" ? "local" : backend;
    o.stall_timeout_s = stall_timeout;
    o.use_cuda = torch::cuda::is_available();
    comm = comm::make_communicator(o);
    code = body(*comm);
  } catch (const UsageError& e) {
    log::error_any_rank(e.what());
    code = 2;
  } catch (const std::exception& e) {
    log::error_any_rank(e.what());
    code = 1;
  }
  if (code != 0 && env.world_size() > 1) {
    // Other ranks may be inside a collective: only an abort is sure to end them.
    if (comm) comm->abort(code);
    comm::LocalCommunicator().abort(code);
  }
  comm.reset();
  return code;
}

std::vector<std::string> g_overrides;

}  // namespace

int cli_main(int argc, char** argv) {
  // Flush denormals to zero before any worker thread exists (threads inherit the mode). Softmax
  // gradients of a confident model over a 50k vocabulary are full of denormal floats, and a GEMM on
  // them runs orders of magnitude slower (bench_roofline's gemm_fp32_denormal); values below 1e-38
  // do not matter to any loss or metric here.
  at::globalContext().setFlushDenormal(true);
  // Until MPI is up, name the rank the launcher gave us (errors in parsing come from every rank).
  set_current_rank(0);
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var); v && *v) {
      set_current_rank(std::atoi(v));
      break;
    }
  CLI::App app{"unlearn: make a causal LM forget specific training sequences (ICU), as one MPI job.\n"
               "Run `unlearn <command> --help` for a command's options. Docs: docs/user-guide.md"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("unlearn ") + UNL_VERSION);

  // run / train
  std::string config_path, resume_path, preset;
  bool fresh = false;
  auto* run = app.add_subcommand("run", "Unlearn the forget set (ICU or a baseline) as configured in a TOML file");
  run->add_option("--config,-c", config_path, "Job configuration (TOML)")->required()->check(CLI::ExistingFile);
  run->add_option("--set", g_overrides, "Override a key: --set train.batch_size=16 (repeatable)");
  run->add_option("--resume", resume_path, "Resume from this checkpoint instead of the newest in output.dir");
  run->add_flag("--fresh", fresh, "Ignore existing checkpoints and start over");
  run->add_option("--preset", preset, "Start from a preset (paper-125m, paper-1.3b, paper-2.7b; see docs/config-reference.md)");
  auto* train = app.add_subcommand("train", "Fine-tune a model with plain next-token CE on data.forget (the same run loop)");
  train->add_option("--config,-c", config_path, "Job configuration (TOML); train.max_epochs epochs")->required()->check(CLI::ExistingFile);
  train->add_option("--set", g_overrides, "Override a key (repeatable)");
  train->add_flag("--fresh", fresh, "Ignore existing checkpoints and start over");

  // eval
  EvalArgs eval_args;
  auto* eval = app.add_subcommand("eval", "EL_n / MA / BLEU / perplexity report of a model, no training (sharded under mpirun)");
  eval->add_option("--model", eval_args.model, "Hugging Face model directory")->required()->check(CLI::ExistingDirectory);
  eval->add_option("--forget", eval_args.forget, "Samples to score (.jsonl/.npy/.h5); needed without --tasks")->check(CLI::ExistingFile);
  eval->add_option("--heldout", eval_args.heldout, "Held-out set for perplexity")->check(CLI::ExistingFile);
  eval->add_option("--tokenizer", eval_args.tokenizer, "Tokenizer directory (default: the model's)");
  eval->add_option("--max-tokens", eval_args.data.max_tokens, "Truncate sequences")->capture_default_str();
  eval->add_option("--n", eval_args.eval.n, "n of EL_n")->capture_default_str();
  eval->add_option("--suffix-start", eval_args.eval.suffix_start, "s of EL_n (1 = Jang et al.)")->capture_default_str();
  eval->add_option("--prompt-begin", eval_args.eval.prompt_begin, "Continuation check: first prompt token")->capture_default_str();
  eval->add_option("--prefix-len", eval_args.eval.prefix_len, "Continuation check: prompt length")->capture_default_str();
  eval->add_option("--gen-len", eval_args.eval.gen_len, "Continuation check: tokens generated and compared")->capture_default_str();
  eval->add_option("--bertscore-model", eval_args.eval.bertscore_model, "BERT directory for BERTScore-F1 of the continuation")
      ->check(CLI::ExistingDirectory);
  eval->add_option("--bertscore-layer", eval_args.eval.bertscore_layer, "BERTScore layer")->capture_default_str();
  eval->add_option("--bleu-threshold", eval_args.bleu_threshold, "Verdict: forgotten when BLEU-4 is below")->capture_default_str();
  eval->add_option("--bertscore-threshold", eval_args.bertscore_threshold,
                   "Verdict: or when BERTScore-F1 is below (with --bertscore-model)")->capture_default_str();
  eval->add_option("--per-sample", eval_args.per_sample,
                   "Write one JSON line per sample: prompt, generated and reference text, BLEU, BERTScore-F1, EL, MA, verdict");
  eval->add_option("--beams", eval_args.eval.num_beams, "BLEU beams")->capture_default_str();
  eval->add_option("--batch-size", eval_args.eval.batch_size, "Sequences per batch")->capture_default_str();
  eval->add_flag("--json", eval_args.json, "Print the report as JSON (per sample and means)");
  eval->add_option("--tasks", eval_args.eval.tasks, "Tasks instead of the EL/MA report: choice=FILE,lambada=FILE,dialogue=FILE,"
                                                "ppl=FILE,mia,tofu=FILE,tofu_retain=FILE,tofu_options:NAME=FILE "
                                                "(docs/evaluation.md)");
  eval->add_option("--out", eval_args.out, "With --tasks: eval.json (open-unlearning shape) + .samples.jsonl beside it");
  eval->add_option("--reference", eval_args.reference, "With mia: reference model for the reference-ratio score")
      ->check(CLI::ExistingDirectory);
  eval->add_option("--retain-auc", eval_args.retain_auc, "With mia: Min-k% AUC of a retain-only model, for PrivLeak");
  eval->add_option("--retain-eval", eval_args.eval.retain_eval,
                   "With tofu: the eval.json of a retain-only model on the same tasks, for forget quality")
      ->check(CLI::ExistingFile);
  eval->add_option("--answer-tokens", eval_args.eval.answer_tokens, "tofu: greedy answer length for ROUGE-L (at most half "
                                                                    "of --max-length)")->capture_default_str();
  eval->add_option("--min-k", eval_args.eval.min_k, "Min-k% / Min-k%++ fraction")->capture_default_str();
  eval->add_option("--max-length", eval_args.eval.max_length, "Tokens a choice/lambada/dialogue/tofu request may use")->capture_default_str();
  eval->add_option("--ppl-window", eval_args.eval.ppl_window, "ppl window length")->capture_default_str();
  eval->add_option("--format", eval_args.data.format, "Data format as data.format: auto, jsonl, qa, chat, npy, h5")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "jsonl", "qa", "chat", "npy", "h5"}));
  eval->add_option("--text-field", eval_args.data.text_field, "JSONL field holding the text")->capture_default_str();
  eval->add_option("--prompt-field", eval_args.data.prompt_field, "--format qa: field holding the prompt")->capture_default_str();
  eval->add_option("--response-field", eval_args.data.response_field, "--format qa: field holding the response")->capture_default_str();
  eval->add_option("--chat-template", eval_args.data.chat_template,
                   "qa/chat: auto (the tokenizer's chat template when it has one) or none (join with --separator)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "none"}));
  eval->add_option("--separator", eval_args.data.separator, "qa/chat without a template: prompt + separator + response");

  // demo
  DemoArgs demo_args;
  auto* demo = app.add_subcommand("demo", "The embedded end-to-end example: memorise synthetic personal records, then forget 32");
  demo->add_option("--out", demo_args.out, "Output directory")->capture_default_str();
  demo->add_option("--ranks", demo_args.ranks, "MPI ranks for the unlearning job")->capture_default_str();
  demo->add_flag("--rebuild-base", demo_args.rebuild_base, "Re-train the cached base model");
  demo->add_option("--base-epochs", demo_args.base_epochs, "Epochs that fit the base model")->capture_default_str()
      ->check(CLI::PositiveNumber);
  demo->add_flag("--data-only", demo_args.data_only, "Write the demo data (out/data/*.jsonl) and stop");

  // model tools
  std::string tok_dir, input_path, model_dir, ids_text, out_path, prompt, family, cfg_json;
  int64_t max_new = 50, beams = 1, seed = 0;
  bool tok_special = false;
  auto* tokenize = app.add_subcommand("tokenize", "JSONL lines {\"text\"} -> + \"ids\", {\"ids\"} -> + \"text\", \"text_clean_up\", "
                                                  "{\"messages\", \"add_generation_prompt\"} -> + chat \"text\", \"ids\" (stdout)");
  tokenize->add_option("--tokenizer", tok_dir, "Directory with tokenizer.json, vocab.json + merges.txt or tokenizer.model (default: built-in GPT-2)");
  tokenize->add_option("--input", input_path, "JSONL file")->required()->check(CLI::ExistingFile);
  tokenize->add_flag("--special", tok_special, "Add special tokens (e.g. BOS) to {\"text\"} lines as the default encode does");
  auto* logits = app.add_subcommand("logits", "fp32 logits [len, vocab] of one sequence");
  logits->add_option("--model", model_dir, "Hugging Face model directory")->required()->check(CLI::ExistingDirectory);
  logits->add_option("--ids", ids_text, "Comma-separated token ids")->required();
  logits->add_option("--out", out_path, "Write a .npy file instead of printing");
  auto* generate = app.add_subcommand("generate", "Continue a prompt (greedy or beam search)");
  generate->add_option("--model", model_dir, "Hugging Face model directory")->required()->check(CLI::ExistingDirectory);
  generate->add_option("--prompt", prompt, "Prompt text")->required();
  generate->add_option("--max-new-tokens", max_new, "Tokens to generate")->capture_default_str();
  generate->add_option("--beams", beams, "Beams (1 = greedy)")->capture_default_str();
  auto* init = app.add_subcommand("init", "Write a random-initialised model in Hugging Face format");
  init->add_option("--family", family, "gpt-neo, gpt2 or llama")->required();
  init->add_option("--config", cfg_json, "config.json (Hugging Face fields; model_type may be omitted)")->required()->check(CLI::ExistingFile);
  init->add_option("--out", out_path, "Output directory")->required();
  init->add_option("--seed", seed, "Initialisation seed")->capture_default_str();
  auto* inspect = app.add_subcommand("inspect", "Summarise a checkpoint and verify every checksum");
  inspect->add_option("checkpoint", input_path, "Checkpoint file (.h5) or a run's output directory")->required();
  PlanArgs plan_args;
  auto* plan = app.add_subcommand("plan", "Memory per rank of a job from config.json + safetensors headers (no weights read): fits or not");
  plan->add_option("--model", plan_args.model, "Model directory (config.json; safetensors optional)")->required();
  plan->add_option("--ranks", plan_args.ranks, "MPI ranks (data-parallel replicas)")->capture_default_str();
  plan->add_option("--device-memory", plan_args.device_memory, "Memory per device, e.g. 80GiB, for the fits column");
  plan->add_option("--batch-size", plan_args.batch_size, "train.batch_size (global)")->capture_default_str();
  plan->add_option("--seq-len", plan_args.seq_len, "Tokens per row (data.max_tokens)")->capture_default_str();
  plan->add_option("--method", plan_args.method, "method.name")->capture_default_str()->check(CLI::IsMember({"icu", "ga", "graddiff", "npo", "finetune"}));
  plan->add_option("--zero-stage", plan_args.zero_stage, "train.zero_stage (0, 1 or 2)")->capture_default_str()->check(CLI::Range(0, 2));
  plan->add_option("--bucket-mb", plan_args.bucket_mb, "runtime.bucket_mb")->capture_default_str()->check(CLI::PositiveNumber);
  bool reference = false, example = false;
  auto* config = app.add_subcommand("config", "Print the configuration reference or an example job file");
  config->add_flag("--reference", reference, "Markdown reference of every key (docs/config-reference.md)");
  config->add_flag("--example", example, "An example job.toml");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    if (*run || *train) {
      const bool is_train = static_cast<bool>(*train);
      // Parse before MPI so usage errors are reported once and quickly, with exit code 2.
      if (is_train) g_overrides.insert(g_overrides.begin(), "method.name=finetune");
      JobConfig cfg = JobConfig::from_file(config_path, g_overrides, preset);
      RunOptions options;
      options.resume_path = resume_path;
      options.fresh = fresh;
      const auto hooks = hooks_from_environment();
      options.hooks = hooks.get();
      return as_job(&argc, &argv, cfg.runtime.comm_backend, cfg.runtime.stall_timeout_s,
                    [&](comm::Communicator& comm) { return run_job(cfg, comm, options); });
    }
    if (*eval)
      return as_job(&argc, &argv, "auto", 900, [&](comm::Communicator& comm) { return cmd_eval(eval_args, comm); });
    if (*demo) return cmd_demo(demo_args, argv[0]);
    if (*tokenize) return cmd_tokenize(tok_dir, input_path, tok_special);
    if (*logits) return cmd_logits(model_dir, ids_text, out_path);
    if (*generate) return cmd_generate(model_dir, prompt, max_new, beams);
    if (*init) return cmd_init(family, cfg_json, out_path, seed);
    if (*inspect) return cmd_inspect(input_path);
    if (*plan) return cmd_plan(plan_args);
    if (*config) {
      if (reference) {
        std::cout << config_reference_markdown();
      } else {
        std::cout << example_job_toml();
      }
      return 0;
    }
  } catch (const UsageError& e) {
    log::error_any_rank(e.what());
    return 2;
  } catch (const std::exception& e) {
    log::error_any_rank(e.what());
    return 1;
  }
  return 0;
}

}  // namespace unl::driver
