#!/usr/bin/env bash
# Where no thread can be started (a process at its user's limit, RLIMIT_NPROC), taxon does the
# work on the threads it has: `taxon eval` of a dump read by two readers with an aggregate over
# 30,000 tensors, and `taxon apply --jobs 2` of a sharded output, each equal to the run without
# the limit. Runs the limited commands as `nobody` (root is exempt from the limit).
#   thread_limit_test.sh TAXON SOURCE_DIR
# Exits 77 (skipped) where that cannot be staged: not root, no setpriv, the limit not enforced,
# or `nobody` unable to run TAXON.
set -uo pipefail
taxon=$1
source=$2
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[[ $(id -u) == 0 ]] || skip "needs root to run commands as nobody"
command -v setpriv > /dev/null && command -v prlimit > /dev/null || skip "no setpriv or prlimit"
# LeakSanitizer's check at exit starts a thread of its own: off for the limited runs (ASan builds).
limited() {
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups prlimit --nproc=1 "$@"
}
limited test -x "$taxon" || skip "nobody cannot run $taxon"
# At the limit, nobody's shell cannot start another process: then no thread starts either.
[[ $(limited /bin/sh -c '/bin/true && echo started' 2> /dev/null) != started ]] || skip "RLIMIT_NPROC is not enforced here"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 777 "$scratch"

# A dump of 30,000 tensors (over 4 MiB: read by two readers) and rules whose aggregate ranges
# over all of them (over 16,384: read on two threads).
"$(dirname "$0")/write_expert_dump.sh" 30000 "thread limit" > "$scratch/dump.json"
cat > "$scratch/rules.tx" << 'EOF'
let expert = name ~ /^model\.layers\.(?P<layer>\d+)\.mlp\.experts\.(?P<e>\d+)\./
let depth = max(layer where expert) + 1
set layer_decay : expert { lr_mult = 0.9 ** (depth - layer), weight_decay = 0.001 * count(e where expert) }
group rest { }
EOF
cp "$source/tests/data/ckpt/llama_tiny/model.safetensors" "$source/tests/data/plans/pass_through.tx" "$scratch/"
chmod -R a+r "$scratch"

"$taxon" eval "$scratch/rules.tx" --dump "$scratch/dump.json" --format json > "$scratch/eval.json" || fail "taxon eval"
limited "$taxon" eval "$scratch/rules.tx" --dump "$scratch/dump.json" --format json > "$scratch/eval_limited.json" ||
  fail "taxon eval where no thread can be started"
cmp -s "$scratch/eval.json" "$scratch/eval_limited.json" || fail "taxon eval: the report differs where no thread can be started"
grep -q '"lr_mult": 0.9,' "$scratch/eval.json" || fail "taxon eval: the last layer's lr_mult is not 0.9 ** 1"

apply=(apply "$scratch/pass_through.tx" "$scratch/model.safetensors" --max-shard-size 20KB --jobs 2)
mkdir "$scratch/free"
"$taxon" "${apply[@]}" -o "$scratch/free/model.safetensors" > /dev/null || fail "taxon apply --jobs 2"
mkdir -m 777 "$scratch/limited"
limited "$taxon" "${apply[@]}" -o "$scratch/limited/model.safetensors" > /dev/null ||
  fail "taxon apply --jobs 2 where no thread can be started"
shards=$(ls "$scratch/free" | grep -c -- '-of-')
((shards >= 2)) || fail "taxon apply wrote $shards shards; the test needs several"
diff -r "$scratch/free" "$scratch/limited" > /dev/null || fail "taxon apply --jobs 2: the output differs where no thread can be started"
echo "eval and apply --jobs 2 where no thread can be started: equal to the unlimited runs ($shards shards)"
