#!/usr/bin/env bash
# A large input (4 MiB or more) gets a heap on transparent huge pages (tools/huge_page_heap.cpp):
# the process's heap is asked for huge pages before anything is read, and the report is the
# same byte for byte as without (TAXON_HUGE_PAGES=0) and as with the user's own GLIBC_TUNABLES.
#   large_input_heap_test.sh TAXON
# Exits 77 (skipped) where the kernel offers no transparent huge pages, where /proc has no
# smaps, or under a sanitizer (its allocator ignores glibc's settings).
set -uo pipefail
taxon=$1
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

grep -Eq '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null ||
  skip "the kernel offers no transparent huge pages"
[[ -r /proc/self/smaps ]] || skip "no /proc/PID/smaps"
# (grep reads all of nm's output: with -q it would stop at the first match, and under pipefail
# nm's broken pipe would fail the test.)
nm -C "$taxon" 2> /dev/null | grep __asan_init > /dev/null && skip "a sanitizer's build"

scratch=$(mktemp -d)
trap 'exec 3>&- 2> /dev/null; rm -rf "$scratch"' EXIT

# 30,000 tensors: a dump of about 5 MiB.
"$(dirname "$0")/write_expert_dump.sh" 30000 "large input" > "$scratch/dump.json"
(($(stat -c %s "$scratch/dump.json") >= 4 << 20)) || fail "the dump is under 4 MiB: it would not count as large"
printf 'group experts : name ~ /experts\\.(?P<e>\\d+)\\./ { lr_mult = 0.5 }\ngroup rest { }\n' > "$scratch/rules.tx"

eval_json() { "$taxon" eval "$scratch/rules.tx" --dump "$@" --format json; }
TAXON_HUGE_PAGES=0 eval_json "$scratch/dump.json" > "$scratch/plain.json" || fail "eval with TAXON_HUGE_PAGES=0"
eval_json "$scratch/dump.json" > "$scratch/huge.json" || fail "eval of a large dump"
cmp -s "$scratch/plain.json" "$scratch/huge.json" || fail "the report differs on the huge-page heap"
GLIBC_TUNABLES=glibc.malloc.arena_max=1 eval_json "$scratch/dump.json" > "$scratch/tunables.json" || fail "eval with GLIBC_TUNABLES set"
cmp -s "$scratch/plain.json" "$scratch/tunables.json" || fail "the report differs with the user's GLIBC_TUNABLES"
grep -q '"experts"' "$scratch/huge.json" || fail "no group experts in the report"

# A dump on a pipe counts as large: while taxon waits for it, its heap is already advised.
mkfifo "$scratch/pipe"
"$taxon" eval "$scratch/rules.tx" --dump - --format json < "$scratch/pipe" > "$scratch/piped.json" &
pid=$!
exec 3> "$scratch/pipe"
advised=""
for _ in $(seq 100); do
  # VmFlags "hg": the mapping asks for huge pages (MADV_HUGEPAGE); the heap is "[heap]".
  advised=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{heap = ($6 == "[heap]")} heap && /^VmFlags:.* hg/{print "yes"; exit}' "/proc/$pid/smaps" 2> /dev/null)
  [[ -n $advised ]] && break
  sleep 0.05
done
cat "$scratch/dump.json" >&3
exec 3>&-
wait "$pid" || fail "eval of a dump on a pipe"
[[ $advised == yes ]] || fail "the heap of a process reading a dump from a pipe was not asked for huge pages"
cmp -s "$scratch/plain.json" "$scratch/piped.json" || fail "the report of a piped dump differs"

echo "ok: reports equal with and without the huge-page heap; the heap advised before reading"
