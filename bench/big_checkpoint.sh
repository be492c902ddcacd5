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

seconds() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
