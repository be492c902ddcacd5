#!/usr/bin/env bash
# One input of the bad-input corpus (tests/data/bad/): every command that reads it must answer
# with exactly one error, exit 2, nothing on stdout, and no file written or changed.
#   bad_input.sh TAXON SOURCE_DIR INPUT
# Checkpoints go through `taxon dump` and `taxon apply` (over an earlier output, with --force, which
# must survive byte for byte); rule files through `taxon eval`, `taxon lint` (which reports the error
# as its one error-level finding on stdout, exit 1: docs/cli.md) and `taxon fmt --check` (which reads
# syntax only, so it may also pass; it must not crash).
set -uo pipefail
taxon=$1
cd "$2"
input=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0

# expect_one_error DESCRIPTION COMMAND...    (expect_one_finding: lint's exit 1, the error on stdout)
expect_one_error() { expect 2 stderr "$@"; }
expect_one_finding() { expect 1 stdout "$@"; }
expect() {
  local expected_status=$1 channel=$2 what=$3
  shift 3
  local status=0
  timeout 60 "$@" > "$scratch/stdout" 2> "$scratch/stderr" || status=$?
  local errors
  errors=$(grep -c '^error\[T[0-9]\{4\}\]' "$scratch/$channel")
  local problems=()
  ((status == expected_status)) || problems+=("exit $status, not $expected_status")
  ((errors == 1)) || problems+=("$errors errors on $channel, not 1")
  if [[ $channel == stderr ]]; then
    [[ ! -s $scratch/stdout ]] || problems+=("$(wc -c < "$scratch/stdout") bytes on stdout")
  fi
  grep -q 'internal error\|Sanitizer\|runtime error' "$scratch/stderr" && problems+=("a crash or an internal error")
  # The corpus's names say which code the error must carry: hostile_* are refused (T0607), malformed_* are corrupt (T0606).
  local want=""
  case $(basename "$input") in hostile_*) want=T0607 ;; malformed_*) want=T0606 ;; esac
  if [[ -n $want ]] && ! grep -q "^error\[$want\]" "$scratch/$channel"; then problems+=("not error[$want]"); fi
  if ((${#problems[@]})); then
    echo "FAIL $what: ${problems[*]}"
    echo "  command: $*"
    sed 's/^/  stderr: /' "$scratch/stderr" | head -20
    failures=$((failures + 1))
  else
    echo "ok   $what: $(grep -m1 '^error' "$scratch/$channel" | cut -c1-160)"
  fi
}

case $input in
  *.tx | *.yaml)
    expect_one_error "eval" "$taxon" eval "$input" --dump tests/data/dumps/llama_tiny.json
    expect_one_finding "lint" "$taxon" lint "$input"
    if [[ $input == *.tx ]]; then
      # fmt reads syntax only: a file whose fault is its meaning (a regex RE2 refuses) formats fine.
      status=0
      timeout 60 "$taxon" fmt --check "$input" > /dev/null 2> "$scratch/stderr" || status=$?
      if ((status == 2)); then
        expect_one_error "fmt --check" "$taxon" fmt --check "$input"
      elif ((status > 2)) || grep -q 'internal error\|Sanitizer\|runtime error' "$scratch/stderr"; then
        echo "FAIL fmt --check: exit $status"
        failures=$((failures + 1))
      fi
    fi
    ;;
  *)
    expect_one_error "dump" "$taxon" dump "$input"
    mkdir "$scratch/out"
    printf 'an earlier output\n' > "$scratch/out/model.safetensors"
    cp "$scratch/out/model.safetensors" "$scratch/earlier"
    for output in model.safetensors model.pt; do
      [[ -e $scratch/out/$output ]] || cp "$scratch/earlier" "$scratch/out/$output"
      expect_one_error "apply -o $output" "$taxon" apply tests/data/plans/pass_through.tx "$input" -o "$scratch/out/$output" --force
      if ! cmp -s "$scratch/earlier" "$scratch/out/$output"; then
        echo "FAIL apply -o $output: the earlier output was changed"
        failures=$((failures + 1))
      fi
    done
    leftovers=$(ls -A "$scratch/out" | grep -v '^model\.\(safetensors\|pt\)$')
    if [[ -n $leftovers ]]; then
      echo "FAIL apply: files left in the output directory: $leftovers"
      failures=$((failures + 1))
    fi
    ;;
esac
exit $((failures > 0))
