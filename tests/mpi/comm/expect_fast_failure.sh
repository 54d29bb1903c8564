#!/usr/bin/env bash
# Runs a 3-rank job that must fail: passes when it ends by itself (the 90 s timeout only catches
# a hang; no elapsed time is asserted) with a non-zero exit and the failure named in its output.
set -u
mpiexec=$1 bin=$2 mode=$3
start=$(date +%s)
read -r -a preflags <<<"${MPIEXEC_PREFLAGS:-}"  # from CMake (Open MPI: --oversubscribe)
out=$(timeout 90 "$mpiexec" "${MPIEXEC_NUMPROC_FLAG:--n}" 3 "${preflags[@]}" "$bin" "$mode" 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
echo "$out" | tail -20
echo "exit code $rc after ${elapsed}s"
[ "$rc" -ne 0 ] || { echo "FAIL: job exited 0"; exit 1; }
[ "$rc" -ne 124 ] || { echo "FAIL: job hung until timeout"; exit 1; }
if [ "$mode" = throw ]; then
  echo "$out" | grep -q "rank 1 .*injected failure on rank 1" || { echo "FAIL: error not reported"; exit 1; }
else
  echo "$out" | grep -q "ranks 1 never arrived" || { echo "FAIL: stalled rank not named"; exit 1; }
fi
echo PASS
