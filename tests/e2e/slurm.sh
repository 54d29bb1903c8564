#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine: submit a small unlearning job with the sbatch
# template (unchanged, options overridden on the command line for a 2-CPU node) and with srun; then
# send a running job SIGUSR1 as Slurm does before a time limit, check it checkpoints, requeues
# itself, and that the requeued run resumes and completes. Skipped (77) where Slurm cannot start.
source "$(dirname "$0")/lib.sh"
command -v slurmctld >/dev/null && command -v munged >/dev/null || { echo "SKIP: slurm-wlm/munge not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: starting a Slurm cluster needs root"; exit 77; }

S=$WORK/slurm
mkdir -p "$S"/{state,spool,log,run} /run/munge /etc/munge
chown munge:munge /run/munge 2>/dev/null
[ -f /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
pgrep -x munged >/dev/null || su -s /bin/sh munge -c "munged" || runuser -u munge -- munged || { echo "SKIP: munged does not start"; exit 77; }
cpus=$(getconf _NPROCESSORS_ONLN)  # not nproc: it honours OMP_NUM_THREADS
cat >"$S/slurm.conf" <<CONF
ClusterName=unltest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
TaskPlugin=task/none
ProctrackType=proctrack/cgroup
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPort=46817
SlurmdPort=46818
MailProg=/bin/true
ReturnToService=2
JobRequeue=1
NodeName=localhost CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
cat >"$S/cgroup.conf" <<CONF
CgroupPlugin=autodetect
CONF
export SLURM_CONF=$S/slurm.conf
cleanup_slurm() {
  [ -f "$S/run/slurmd.pid" ] && kill "$(cat "$S/run/slurmd.pid")" 2>/dev/null
  [ -f "$S/run/slurmctld.pid" ] && kill "$(cat "$S/run/slurmctld.pid")" 2>/dev/null
  sleep 1; rm -rf "$WORK"
}
trap cleanup_slurm EXIT
slurmctld -c -i >/dev/null 2>&1 || { echo "SKIP: slurmctld does not start"; cat "$S/log/slurmctld.log" 2>/dev/null | tail -5; exit 77; }
slurmd -N localhost >/dev/null 2>&1 || { echo "SKIP: slurmd does not start"; tail -5 "$S/log/slurmd.log"; exit 77; }
for _ in $(seq 1 50); do sinfo -h -o %t 2>/dev/null | grep -qE '^idle' && break; sleep 0.2; done
sinfo -h -o %t | grep -qE '^idle' || { echo "SKIP: node never became idle"; sinfo; tail -20 "$S/log/slurmd.log"; exit 77; }

make_tiny_model
make_tiny_data
cd "$WORK"
export UNLEARN_BIN=$UNL
template=$SRC/launch/slurm/unlearn.sbatch
node_opts=(--ntasks-per-node=2 --cpus-per-task=1 --time=10:00 --output="$WORK/slurm-%j.out")

# 1. sbatch with the template.
write_icu_config sb sb_out </dev/null
sbatch --wait "${node_opts[@]}" "$template" "$WORK/sb.toml" >"$WORK/sbatch1.txt" || { cat "$WORK"/slurm-*.out; fail "sbatch job failed"; }
[ -f "$WORK/sb_out/report.json" ] || { cat "$WORK"/slurm-*.out; fail "sbatch job wrote no report"; }
grep -q "2 rank(s)" "$WORK"/slurm-*.out || { cat "$WORK"/slurm-*.out; fail "sbatch job did not run on 2 ranks"; }
pass "sbatch template: job completed on 2 ranks"

# 2. srun directly.
write_icu_config sr sr_out </dev/null
srun --mpi=pmix -n 2 --cpus-per-task=1 --time=10:00 "$UNL" run --config "$WORK/sr.toml" >"$WORK/srun.log" 2>&1 || { cat "$WORK/srun.log"; fail "srun job failed"; }
[ -f "$WORK/sr_out/report.json" ] || fail "srun job wrote no report"
pass "srun --mpi=pmix: job completed"

# 3. SIGUSR1 as before a time limit: checkpoint, requeue, resume, complete.
write_icu_config rq rq_out </dev/null
jobid=$(sbatch --parsable "${node_opts[@]}" "$template" "$WORK/rq.toml" --set train.max_epochs=10)
wait_for_steps "$WORK/rq_out/metrics.jsonl" 4 120
scancel --signal=USR1 --batch "$jobid" || fail "scancel"
echo "sent SIGUSR1 to job $jobid after $(grep -c '"type":"step"' "$WORK/rq_out/metrics.jsonl" 2>/dev/null) steps"
for _ in $(seq 1 900); do
  state=$(sacct -n -X -j "$jobid" -o State 2>/dev/null | head -1 | tr -d ' ')
  [ -z "$state" ] && state=$(scontrol show job "$jobid" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  restarts=$(scontrol show job "$jobid" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
  [ "${restarts:-0}" -ge 1 ] && [ "$state" = COMPLETED ] && break
  sleep 0.5
done
out=$(ls "$WORK"/slurm-"$jobid".out)
# The signal is acted on at the next step boundary (a checkpoint is written then) or, when it
# lands during the end-of-epoch check, right after that epoch's checkpoint.
grep -qE "checkpoint \(stop signal\)|stopped by a signal at the end of epoch" "$out" || { cat "$out"; fail "no checkpoint on SIGUSR1"; }
grep -q "requeueing job $jobid" "$out" || { cat "$out"; fail "job did not requeue itself"; }
grep -q "resumed from" "$out" || { cat "$out"; fail "requeued job did not resume"; }
[ "$state" = COMPLETED ] || { cat "$out"; fail "requeued job did not complete (state $state)"; }
[ -f "$WORK/rq_out/report.json" ] || fail "requeued job wrote no report"
pass "SIGUSR1 -> checkpoint -> requeue -> resumed -> completed"
