#!/usr/bin/env bash
# The GPU benchmarks (issue 8, item 7), as one prepared script for a machine with an NVIDIA GPU:
# builds the bench programs against the CUDA LibTorch that the machine's Python torch ships, then
# runs the ICU step (items 2), EL_10 + MA evaluation (item 3) and the NCCL all-reduce (item 4) with
# bf16 autocast, reporting MFU against the card's bf16 matmul rate measured in the same process.
#
# Usage (repo root):  bash bench/gpu/run.sh [RESULTS_DIR]      (default: $OUT or build-gpu/results)
#   UNL_GPU_DEPS=DIR    Debian packages staged by bench/gpu/stage-deps (unpacked with dpkg -x when
#                       the machine lacks Open MPI / HDF5 / Boost / fmt / json / toml++ / CLI11 / xxhash)
#   UNL_GPU_TARGET=cpu  smoke-test the script itself on a CPU-only machine (tiny shapes, Debian LibTorch)
#   UNL_GPU_JOBS=N      parallel compile jobs (default: all cores)
# Writes RESULTS_DIR/gpu-results.jsonl (one JSON line per figure) and RESULTS_DIR/gpu-env.txt.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
results=${1:-${OUT:-$here/build-gpu/results}}
mkdir -p "$results"
env_txt=$results/gpu-env.txt
out=$results/gpu-results.jsonl
: >"$out"
target=${UNL_GPU_TARGET:-cuda}
jobs=${UNL_GPU_JOBS:-$(getconf _NPROCESSORS_ONLN)}
say() { echo "[gpu-bench $(date -u +%H:%M:%S)] $*" | tee -a "$env_txt" >&2; }
: >"$env_txt"

# ---- what the machine has ----
if [ "$target" = cuda ]; then
  command -v nvidia-smi >/dev/null || { say "no nvidia-smi: not a GPU machine (UNL_GPU_TARGET=cpu for a smoke test)"; exit 2; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$env_txt"
  gpus=$(nvidia-smi -L | wc -l)
  py=$(command -v python3)
  torch_prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) ||
    { say "python3 cannot import torch: install a CUDA PyTorch or set Torch_DIR to a CUDA LibTorch"; exit 2; }
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$env_txt"
  prefix_path="$torch_prefix"
else
  gpus=0
  prefix_path=""
fi
for tool in cmake g++ make; do command -v $tool >/dev/null || { say "missing $tool"; exit 2; }; done

# ---- dependencies staged as Debian packages (see bench/gpu/stage-deps) ----
deps=${UNL_GPU_DEPS:-$here/build-gpu-debs}
if [ -d "$deps" ] && ls "$deps"/*.deb >/dev/null 2>&1; then
  root=$here/build-gpu/deps-root
  if [ ! -e "$root/.unpacked" ]; then
    mkdir -p "$root"
    for d in "$deps"/*.deb; do dpkg-deb -x "$d" "$root" 2>/dev/null || (cd "$root" && ar p "$d" data.tar.xz | tar xJ); done
    touch "$root/.unpacked"
  fi
  multiarch=$root/usr/lib/x86_64-linux-gnu
  # HDF5's compiler wrapper has its install prefix written in; point it at the private prefix so
  # FindHDF5 takes the staged headers and libraries, not whatever /usr holds.
  sed -i "s|^prefix=\"/usr\"|prefix=\"$root/usr\"|" "$root/usr/bin/h5pcc.openmpi"
  export PATH=$root/usr/bin:$PATH
  export LD_LIBRARY_PATH=$multiarch:$multiarch/openmpi/lib:$multiarch/hdf5/openmpi${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export CPATH=$root/usr/include${CPATH:+:$CPATH}
  export LIBRARY_PATH=$multiarch${LIBRARY_PATH:+:$LIBRARY_PATH}
  # Open MPI's wrappers and mpiexec find their files relative to OPAL_PREFIX.
  export OPAL_PREFIX=$root/usr OMPI_MCA_plm_rsh_agent=
  prefix_path="$prefix_path;$root/usr;$multiarch/cmake"
  extra=(-DMPI_C_COMPILER="$root/usr/bin/mpicc.openmpi" -DMPI_CXX_COMPILER="$root/usr/bin/mpicxx.openmpi"
         -DHDF5_C_COMPILER_EXECUTABLE="$root/usr/bin/h5pcc.openmpi" -DBOOST_ROOT="$root/usr")
  say "using staged Debian packages from $deps"
else
  extra=()
fi

# ---- build the bench programs only ----
build=$here/build-gpu/build
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DUNL_BUILD_TESTS=OFF -DUNL_BUILD_BENCH=ON \
  ${prefix_path:+-DCMAKE_PREFIX_PATH="$prefix_path"} \
  $([ "$target" = cuda ] && echo -DUNL_WITH_CUDA=ON) "${extra[@]}" >>"$env_txt" 2>&1 ||
  { tail -30 "$env_txt" >&2; say "cmake configure failed (see $env_txt): stage the missing packages with bench/gpu/stage-deps"; exit 1; }
cmake --build "$build" --target bench_icu_step bench_eval_el bench_allreduce bench_roofline -j "$jobs" >>"$env_txt" 2>&1 ||
  { tail -30 "$env_txt" >&2; say "build failed (see $env_txt)"; exit 1; }
b=$build/bench
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run() {  # run LABEL CMD...: one JSON line per figure into $out; a failure is recorded, not fatal
  local label=$1; shift
  say "$label: $*"
  if ! timeout 900 "$@" 2>>"$env_txt" | tee -a "$out"; then
    echo "{\"bench\": \"$label\", \"error\": \"exit non-zero, see gpu-env.txt\"}" | tee -a "$out"
  fi
}

if [ "$target" = cuda ]; then
  # Item 2: the ICU step, bf16 autocast and fp32 (TF32 off by default in LibTorch), 125M and 1.3B.
  run icu_step "$b/bench_icu_step" 125m 8 200 10 0 cuda:bf16
  run icu_step "$b/bench_icu_step" 125m 8 200 10 0 cuda
  run icu_step "$b/bench_icu_step" 1.3b 8 200 5 0 cuda:bf16
  run icu_step "$b/bench_icu_step" 2.7b 4 200 3 0 cuda:bf16
  # Item 3: EL_10 + MA over 128 x 200 tokens, batched KV cache vs the uncached loop (subset of 4).
  run eval_el "$b/bench_eval_el" 128 200 4 125m cuda:bf16
  # Item 4: NCCL all-reduce needs one GPU per rank; on one GPU, the MPI path with host buffers.
  if [ "$gpus" -ge 2 ]; then
    run allreduce mpiexec -n 2 "$b/bench_allreduce" 125 5 nccl
    run icu_step mpiexec -n 2 "$b/bench_icu_step" 125m 16 200 5 0 cuda:bf16
  else
    say "one GPU: NCCL all-reduce between ranks needs one GPU per rank; skipped (recorded)"
    echo '{"bench": "allreduce", "backend": "nccl", "skipped": "one GPU on this machine; NCCL needs a GPU per rank"}' | tee -a "$out"
  fi
else
  run icu_step "$b/bench_icu_step" 10m 2 32 1 0 cpu
  run eval_el "$b/bench_eval_el" 4 160 1 10m cpu
  run allreduce mpiexec -n 2 --oversubscribe "$b/bench_allreduce" 2 1 mpi
fi
# The gpu-labelled tests (tests/gpu: CUDA parity per model family, NCCL collectives) need
# GoogleTest; built and run when it is found (on CPU-only machines they skip).
if cmake -S "$here" -B "$build" -DUNL_BUILD_TESTS=ON >>"$env_txt" 2>&1; then
  gpu_targets=(test_gpu_model)
  cmake --build "$build" --target help 2>/dev/null | grep -q test_gpu_nccl && gpu_targets+=(test_gpu_nccl)
  if cmake --build "$build" --target "${gpu_targets[@]}" -j "$jobs" >>"$env_txt" 2>&1; then
    ctest --test-dir "$build" -L gpu --output-on-failure 2>&1 | tee -a "$env_txt" | tail -15
  else
    say "gpu tests: build failed (see $env_txt)"
  fi
else
  say "gpu tests: GoogleTest not found; skipped"
fi
say "done: $out"
