#!/usr/bin/env bash
# Sharded output on a >= 2 GiB checkpoint (docs/performance.md): one process writing every shard,
# against the same layout written as 4 parts (`--shard I/4`, one after another, as 4 Slurm tasks
# would write it on one node) then `--join`, and against `--jobs 2`. Medians of 3 runs; each
# result is compared byte for byte with the single process's.
# Usage: bench/sharded_bench.sh [WORK_DIR]   (needs ~7 GiB free there; builds taxon first)
source "$(dirname "$0")/big_checkpoint.sh"
size=$(stat -c %s "$work/big.safetensors")
echo "input: $work/big.safetensors, $((size >> 20)) MiB, shards of at most 600MB; $(nproc) cores"
apply=("$taxon" apply "$work/plans.tx" "$work/big.safetensors" --plan rename_drop --max-shard-size 600MB)
same() {  # every file of two sharded outputs, byte for byte
  for file in "$1"/*; do cmp -s "$file" "$2/$(basename "$file")" || { echo "DIFFER: $(basename "$file")"; exit 1; }; done
}

one_runs=() parts_runs=() slowest_runs=() jobs_runs=()
for run in 1 2 3; do
  rm -rf "$work/one" "$work/parts" "$work/jobs"; mkdir -p "$work/one" "$work/parts" "$work/jobs"; sync
  one_runs+=("$(seconds "${apply[@]}" -o "$work/one/model.safetensors")")
  sync
  total=0 slowest=0
  for part in 1 2 3 4; do
    t=$(seconds "${apply[@]}" -o "$work/parts/model.safetensors" --shard "$part/4")
    total=$(echo "$total + $t" | bc); slowest=$(echo "if ($t > $slowest) $t else $slowest" | bc)
  done
  t=$(seconds "${apply[@]}" -o "$work/parts/model.safetensors" --join)
  parts_runs+=("$(echo "$total + $t" | bc)"); slowest_runs+=("$(echo "$slowest + $t" | bc)")
  sync
  jobs_runs+=("$(seconds "${apply[@]}" -o "$work/jobs/model.safetensors" --jobs 2)")
  same "$work/one" "$work/parts"; same "$work/one" "$work/jobs"
  echo "run $run: one process ${one_runs[-1]}s; 4 parts + join ${parts_runs[-1]}s in all (slowest part + join ${slowest_runs[-1]}s); --jobs 2 ${jobs_runs[-1]}s; outputs identical"
done
echo "median of 3: one process $(median "${one_runs[@]}")s, 4 parts + join $(median "${parts_runs[@]}")s" \
     "(slowest part + join $(median "${slowest_runs[@]}")s), --jobs 2 $(median "${jobs_runs[@]}")s"
rm -rf "$work/one" "$work/parts" "$work/jobs"
