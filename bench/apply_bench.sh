#!/usr/bin/env bash
# Benchmarks `taxon apply` on a >= 2 GiB checkpoint (docs/performance.md):
#  1. a rename/drop-only plan, safetensors -> safetensors and .pt -> safetensors, against `cp` of
#     the same input (alone, and followed by `sync` of the copy: taxon fsyncs what it writes);
#  2. peak memory of .pt -> safetensors and safetensors -> .pt, against the largest tensor.
# Usage: bench/apply_bench.sh [WORK_DIR] [RUNS]   (needs ~9 GiB free there; builds taxon first)
source "$(dirname "$0")/big_checkpoint.sh"
runs=${2:-5}
size=$(stat -c %s "$work/big.safetensors")
echo "input: $work/big.safetensors, $((size >> 20)) MiB; largest tensor 128 MiB; $(nproc) cores; $runs runs"
[ -f "$work/big.pt" ] || "$taxon" apply "$work/plans.tx" "$work/big.safetensors" --plan identity -o "$work/big.pt" > /dev/null
cat "$work/big.pt" > /dev/null

# One input against its three contenders. Each run starts them in another order (a command that
# always follows the same one inherits its writeback), each from a synced disk, output removed.
compare() {
  local input=$1 label=$2 order run name
  declare -A times=()
  for ((run = 0; run < runs; run++)); do
    order=(cp cp_sync taxon)
    order=("${order[@]:run%3}" "${order[@]:0:run%3}")
    for name in "${order[@]}"; do
      sync
      case $name in
        cp) times[cp]+="$(seconds cp "$input" "$work/cp.out") " ;;
        cp_sync) times[cp_sync]+="$(seconds sh -c "cp '$input' '$work/cp.out' && sync '$work/cp.out'") " ;;
        taxon) times[taxon]+="$(seconds "$taxon" apply "$work/plans.tx" "$input" --plan rename_drop -o "$work/out.safetensors" --force) " ;;
      esac
      rm -f "$work/cp.out" "$work/out.safetensors"
    done
  done
  local cp_median sync_median taxon_median
  cp_median=$(median ${times[cp]}) sync_median=$(median ${times[cp_sync]}) taxon_median=$(median ${times[taxon]})
  echo "$label, seconds by run: cp ${times[cp]}| cp + sync ${times[cp_sync]}| taxon ${times[taxon]}"
  echo "$label, median of $runs: cp ${cp_median}s, cp + sync ${sync_median}s, taxon (fsync included) ${taxon_median}s;" \
    "taxon / cp $(ratio "$taxon_median" "$cp_median"), taxon / (cp + sync) $(ratio "$taxon_median" "$sync_median")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

compare "$work/big.safetensors" "safetensors -> safetensors, rename/drop"
compare "$work/big.pt" ".pt -> safetensors, rename/drop"

peak() { measure %M "$@"; }
rm -f "$work/again.pt" "$work/back.safetensors"
echo "peak RSS, safetensors -> .pt: $(( $(peak "$taxon" apply "$work/plans.tx" "$work/big.safetensors" --plan identity -o "$work/again.pt") >> 10 )) MiB"
echo "peak RSS, .pt -> safetensors: $(( $(peak "$taxon" apply "$work/plans.tx" "$work/big.pt" --plan identity -o "$work/back.safetensors") >> 10 )) MiB"
cmp <(tail -c 1000000 "$work/big.safetensors") <(tail -c 1000000 "$work/back.safetensors") && echo "round trip: the last MB of tensor bytes are identical"
rm -f "$work/out.safetensors" "$work/again.pt" "$work/back.safetensors"
