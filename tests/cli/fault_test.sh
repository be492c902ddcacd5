#!/usr/bin/env bash
# What `taxon apply` leaves behind when writing fails: the output directory unwritable, the disk
# full (a 64 KiB tmpfs), a file size limit (ulimit -f), the process killed mid-write (SIGKILL
# injected by strace at the first write of the output, and again just before its fsync). Each
# time the earlier output must be intact byte for byte and no other file may appear.
#   fault_test.sh TAXON SOURCE_DIR CASE      CASE: unwritable | disk_full | file_size_limit | killed
# Exits 77 (skipped) when the machine cannot stage the fault (no strace, no user namespaces).
set -uo pipefail
taxon=$1
source=$2
case_name=$3
scratch=$(mktemp -d)
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
cd "$source"
input=tests/data/ckpt/llama_tiny/model.safetensors   # 100 KB: more than the tmpfs and the size limit hold
plan=tests/data/plans/pass_through.tx
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# The earlier output, and what the directory must hold afterwards.
stage() {  # stage DIR
  mkdir -p "$1"
  printf 'an earlier output\n' > "$1/model.safetensors"
}
check_intact() {  # check_intact DIR
  [[ $(cat "$1/model.safetensors") == "an earlier output" ]] || fail "the earlier output was changed"
  local others
  others=$(ls -A "$1" | grep -v '^model\.safetensors$')
  [[ -z $others ]] || fail "files left in the output directory: $others"
}
expect_write_error() {  # expect_write_error STATUS STDERR_FILE WHAT
  (($1 == 2)) || { cat "$2"; fail "exit $1, not 2"; }
  grep -q "^error\[T0604\]: cannot write .*$3" "$2" || { cat "$2"; fail "no T0604 error naming '$3'"; }
  [[ $(grep -c '^error\[' "$2") == 1 ]] || { cat "$2"; fail "more than one error"; }
}

case $case_name in
  unwritable)
    out=$scratch/out
    stage "$out"
    chmod 0555 "$out"
    runner=()
    if ((EUID == 0)); then  # root writes anywhere: run as nobody, with copies nobody can read
      command -v setpriv > /dev/null || skip "root, and no setpriv to drop privileges"
      cp "$taxon" "$input" "$plan" "$scratch/" && chmod 0755 "$scratch" && chmod 0644 "$scratch"/*.tx "$scratch"/*.safetensors
      chmod 0755 "$scratch/$(basename "$taxon")"
      taxon=$scratch/$(basename "$taxon")
      input=$scratch/$(basename "$input")
      plan=$scratch/$(basename "$plan")
      runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
    status=0
    "${runner[@]}" "$taxon" apply "$plan" "$input" -o "$out/model.safetensors" --force 2> "$scratch/stderr" || status=$?
    expect_write_error "$status" "$scratch/stderr" "Permission denied"
    check_intact "$out"
    ;;
  disk_full)
    command -v unshare > /dev/null || skip "no unshare"
    unshare -rm true 2> /dev/null || skip "no user namespaces to mount a small tmpfs in"
    out=$scratch/out
    mkdir -p "$out"
    status=0
    unshare -rm bash -c '
      mount -t tmpfs -o size=64k tmpfs "$1" || exit 99
      printf "an earlier output\n" > "$1/model.safetensors"
      status=0
      "$2" apply "$3" "$4" -o "$1/model.safetensors" --force 2> "$5" || status=$?
      [[ $(cat "$1/model.safetensors") == "an earlier output" ]] || exit 98
      [[ -z $(ls -A "$1" | grep -v "^model\.safetensors$") ]] || exit 97
      exit $status' _ "$out" "$taxon" "$plan" "$input" "$scratch/stderr" || status=$?
    ((status == 99)) && skip "cannot mount a tmpfs in a user namespace"
    ((status == 98)) && fail "the earlier output was changed"
    ((status == 97)) && fail "files left on the full disk"
    expect_write_error "$status" "$scratch/stderr" "No space left on device"
    ;;
  file_size_limit)
    out=$scratch/out
    stage "$out"
    status=0
    (ulimit -f 32 && exec "$taxon" apply "$plan" "$input" -o "$out/model.safetensors" --force) 2> "$scratch/stderr" || status=$?
    expect_write_error "$status" "$scratch/stderr" "File too large"
    check_intact "$out"
    ;;
  killed)
    command -v strace > /dev/null || skip "no strace to inject the kill"
    strace -qq -o /dev/null true 2> /dev/null || skip "ptrace is not allowed here"
    for syscall in write fsync; do
      out=$scratch/out-$syscall
      stage "$out"
      status=0
      # Only the output is written with write(2) before the report; stderr is quiet until then.
      strace -f -qq -o /dev/null -e trace="$syscall" -e inject="$syscall":signal=KILL:when=1 \
        "$taxon" apply "$plan" "$input" -o "$out/model.safetensors" --force > /dev/null 2>&1 || status=$?
      ((status == 137)) || fail "killed at $syscall: exit $status, not 137 (SIGKILL)"
      check_intact "$out"
      echo "killed at the first $syscall: earlier output intact, nothing left behind"
    done
    ;;
  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac
echo "ok: $case_name"
