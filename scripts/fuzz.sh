#!/usr/bin/env bash
# Runs one libFuzzer target for a while:  scripts/fuzz.sh TARGET SECONDS
#   TARGET: tx_parser yaml_rules safetensors_reader torch_reader zip_archive pickle  (or `all`:
#   each target for SECONDS, as many at once as there are cores; TAXON_FUZZ_JOBS=N to choose)
# Builds the `fuzz` preset (clang, ASan + UBSan) into build-fuzz/ when needed. The corpus grows
# in build-fuzz/corpus/TARGET, seeded from fuzz/seeds/TARGET and the test data; a crash is
# written to build-fuzz/crashes/TARGET/ and ends the run with a non-zero exit. Turn every
# crash into a regression test (docs/reliability.md says how).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(tx_parser yaml_rules safetensors_reader torch_reader zip_archive pickle)
usage() { echo "usage: scripts/fuzz.sh TARGET SECONDS   (TARGET: ${targets[*]} | all)" >&2; exit 2; }
[[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || usage
build=build-fuzz
build_targets() {
  if [[ ! -f $build/build.ninja ]]; then cmake --preset fuzz > /dev/null; fi
  cmake --build --preset fuzz --target "${@/#/fuzz_}" > "$build/build-fuzzers.log" 2>&1 || {
    cat "$build/build-fuzzers.log" >&2; exit 1; }
}

if [[ $1 == all ]]; then
  # Built once, then run $(nproc) at a time: each libFuzzer process uses one core.
  build_targets "${targets[@]}"
  jobs=${TAXON_FUZZ_JOBS:-$(nproc)}
  status=0
  for ((first = 0; first < ${#targets[@]}; first += jobs)); do
    pids=()
    for target in "${targets[@]:first:jobs}"; do
      TAXON_FUZZ_BUILT=1 "$0" "$target" "$2" > "$build/fuzz-$target.summary" 2>&1 &
      pids+=($!)
    done
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || status=1
      cat "$build/fuzz-${targets[first + i]}.summary"
    done
  done
  exit $status
fi
target=$1
[[ " ${targets[*]} " == *" $target "* ]] || usage
[[ -n ${TAXON_FUZZ_BUILT:-} ]] || build_targets "$target"

# Seeds: the committed ones, then the test data in the target's format (only the small files:
# a fuzzer mutating 200 KB of tensor bytes learns nothing).
seeds=$build/seeds/$target
rm -rf "$seeds" && mkdir -p "$seeds"
cp fuzz/seeds/"$target"/* "$seeds"/ 2>/dev/null || true
case $target in
  tx_parser) patterns=(-name '*.tx') ;;
  yaml_rules) patterns=(-name '*.yaml' -o -name '*.yml') ;;
  safetensors_reader) patterns=(-name '*.safetensors') ;;
  torch_reader | zip_archive) patterns=(-name '*.pt') ;;
  pickle) patterns=(-name '*.pkl') ;;
esac
find tests examples stdlib bench -type f \( "${patterns[@]}" \) -size -16k -print0 |
  while IFS= read -r -d '' file; do cp "$file" "$seeds/$(echo "$file" | tr / _)"; done

corpus=$build/corpus/$target
crashes=$build/crashes/$target
mkdir -p "$corpus" "$crashes"
options=(-max_total_time="$2" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1
         -artifact_prefix="$crashes/")
[[ -f fuzz/$target.dict ]] && options+=(-dict="fuzz/$target.dict")
echo "fuzz_$target: ${2}s, $(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) inputs in $corpus" >&2
log=$build/fuzz-$target.log
status=0
"$build"/fuzz/fuzz_"$target" "${options[@]}" "$corpus" "$seeds" > "$log" 2>&1 || status=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if ((status != 0)); then
  tail -60 "$log" >&2
  echo "fuzz_$target: FAILED after ${executions:-?} executions; the input is in $crashes/ (log: $log)" >&2
  exit 1
fi
echo "fuzz_$target: ${executions} executions in ${2}s, no crash ($(ls "$corpus" | wc -l) inputs in the corpus)"
