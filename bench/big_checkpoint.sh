# Sourced by the benchmarks on a >= 2 GiB checkpoint (apply_bench.sh, sharded_bench.sh): builds
# taxon, makes $work/big.safetensors once (18 tensors of 128 MiB and a small head), writes the
# rename/drop plan to $work/plans.tx, and warms the page cache. Sets $work, $taxon and helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/taxon-bench}
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || apt-get install -y -q time >/dev/null
scripts/build.sh >/dev/null
taxon=build/tools/taxon

[ -f "$work/big.safetensors" ] || python3 bench/make_big_safetensors.py "$work/big.safetensors" 18
cat > "$work/plans.tx" <<'PLAN'
plan rename_drop {
  rename /^layers\.(\d+)\./ -> "blocks.$1."
  drop name starts "head."
  load strict = false
}
plan identity {
  load strict = false
}
PLAN
cat "$work/big.safetensors" > /dev/null  # warm the page cache for every contender

# What /usr/bin/time reports of a command (FORMAT: %e seconds, %M peak KiB); a command that fails
# stops the benchmark with its last words, rather than passing its time off as a measurement.
measure() {
  local format=$1 out
  shift
  out=$(/usr/bin/time -f "$format" "$@" 2>&1 >/dev/null) || { echo "failed: $*" >&2; printf '%s\n' "$out" | tail -5 >&2; return 1; }
  printf '%s\n' "$out" | tail -1
}
seconds() { measure %e "$@"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
