#!/usr/bin/env bash
# Benchmarks `taxon apply` on a >= 2 GiB checkpoint (docs/performance.md):
#  1. a rename/drop-only plan on safetensors, against `cp` of the same file;
#  2. peak memory of .pt -> safetensors and safetensors -> .pt, against the largest tensor.
# Usage: bench/apply_bench.sh [WORK_DIR]   (needs ~7 GiB free there; builds taxon first)
source "$(dirname "$0")/big_checkpoint.sh"
size=$(stat -c %s "$work/big.safetensors")
echo "input: $work/big.safetensors, $((size >> 20)) MiB; largest tensor 128 MiB; $(nproc) cores"
# taxon fsyncs its output before renaming it into place; `cp` alone does not, so both are shown.
cp_runs=() sync_runs=() taxon_runs=()
for run in 1 2 3 4 5; do
  sync
  cp_runs+=("$(seconds cp "$work/big.safetensors" "$work/cp.safetensors")")
  rm -f "$work/cp.safetensors"; sync
  sync_runs+=("$(seconds sh -c "cp '$work/big.safetensors' '$work/cp.safetensors' && sync '$work/cp.safetensors'")")
  rm -f "$work/cp.safetensors"; sync
  taxon_runs+=("$(seconds "$taxon" apply "$work/plans.tx" "$work/big.safetensors" --plan rename_drop -o "$work/out.safetensors" --force)")
  rm -f "$work/out.safetensors"
  echo "run $run: cp ${cp_runs[-1]}s, cp + sync ${sync_runs[-1]}s, taxon apply rename/drop (fsync included) ${taxon_runs[-1]}s"
done
echo "median of 5: cp $(median "${cp_runs[@]}")s, cp + sync $(median "${sync_runs[@]}")s, taxon $(median "${taxon_runs[@]}")s"

peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rm -f "$work/big.pt" "$work/back.safetensors"
echo "peak RSS, safetensors -> .pt: $(( $(peak "$taxon" apply "$work/plans.tx" "$work/big.safetensors" --plan identity -o "$work/big.pt") >> 10 )) MiB"
echo "peak RSS, .pt -> safetensors: $(( $(peak "$taxon" apply "$work/plans.tx" "$work/big.pt" --plan identity -o "$work/back.safetensors") >> 10 )) MiB"
cmp <(tail -c 1000000 "$work/big.safetensors") <(tail -c 1000000 "$work/back.safetensors") && echo "round trip: the last MB of tensor bytes are identical"
rm -f "$work/out.safetensors" "$work/big.pt" "$work/back.safetensors"
