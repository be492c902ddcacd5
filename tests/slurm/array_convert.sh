#!/usr/bin/env bash
# A single-node Slurm cluster started here (munged, slurmctld, slurmd; no systemd, nothing
# installed as a service), an array of 4 tasks running examples/slurm/convert.sbatch over a
# sharded checkpoint, then --join: the joined files must equal one process's, byte for byte.
#   array_convert.sh BUILD_DIR SOURCE_DIR       (exit 77: no Slurm or munge here)
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
taxon=$build/tools/taxon
for tool in munged slurmctld slurmd sbatch sinfo; do
  command -v "$tool" > /dev/null || { echo "no $tool (slurm-wlm, munge): skipped"; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/taxon-slurm.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
logs() {
  for log in "$work"/*.log "$work"/out/*.log; do [[ -f $log ]] && { echo "== $log"; tail -20 "$log"; }; done
}
fail() {
  echo "FAILED: $*"
  logs
  exit 1
}
# A machine where the daemons cannot run (no root, no hostname to bind) cannot host the cluster:
# that is the machine's limit, not taxon's, and the parts themselves are tested without Slurm
# (tests/api/sharded_parts_test.cpp).
cannot_host() {
  echo "skipped: $* (this machine cannot host the test cluster)"
  logs
  exit 77
}

# munge: a key of our own, its socket and state in the scratch directory.
mkdir -p "$work/munge" && chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge.log" --seed-file="$work/munge/seed" ||
  cannot_host "munged did not start"
pids+=("$(cat "$work/munge/munged.pid")")

# Slurm: one node (this machine), one partition, ports nobody uses.
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
user=$(id -un)
mkdir -p "$work/state" "$work/spool" "$work/out"
cat > "$work/slurm.conf" << CONF
ClusterName=taxontest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" > "$work/slurmd.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %t 2> /dev/null | head -1)
  [[ $state == idle* || $state == mix* ]] && break
  sleep 1
done
[[ ${state:-} == idle* || ${state:-} == mix* ]] || cannot_host "the node did not come up (state: ${state:-none})"

# The conversion: a sharded fixture through a plan with a rename and a drop.
cat > "$work/plans.tx" << 'PLAN'
plan convert {
  rename /^vit\.layers\.(\d+)\./ -> "vit.blocks.$1."
  drop name contains "pooler"
  load strict = false
}
PLAN
input=$source/tests/data/ckpt/extra/vit_sharded/model.safetensors.index.json
mkdir -p "$work/one" "$work/parts"
"$taxon" apply "$work/plans.tx" --plan convert "$input" -o "$work/one/model.safetensors" --max-shard-size 8KB > /dev/null 2>&1 ||
  fail "the single-process conversion failed"
export TAXON=$taxon PLAN=$work/plans.tx PLAN_NAME=convert INPUT=$input OUTPUT=$work/parts/model.safetensors MAX_SHARD_SIZE=8KB
cd "$work/out"
sbatch --wait --array=1-4 --output="$work/out/task-%a.log" "$source/examples/slurm/convert.sbatch" > "$work/sbatch.log" 2>&1 ||
  fail "the array job failed"
"$taxon" apply "$PLAN" --plan convert "$INPUT" -o "$OUTPUT" --max-shard-size 8KB --join > "$work/join.log" 2>&1 || fail "--join failed"
shards=$(ls "$work/one" | wc -l)
[[ $shards -gt 4 ]] || fail "expected more shards than tasks, got $shards files"
diff -r "$work/one" "$work/parts" > /dev/null || fail "the joined output differs from one process's"
for task in 1 2 3 4; do grep -q '"plan": "convert"' "$work/out/task-$task.log" || fail "task $task left no report"; done
echo "ok: $shards files from 4 array tasks, equal to one process's"
