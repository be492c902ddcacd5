#!/usr/bin/env bash
# Installs dependencies, builds, and runs everything CI runs (docs/reliability.md):
#   1. the fuzz targets, 30 s each, as many at once as there are cores (the `fuzz` preset: clang,
#      ASan + UBSan);
#   2. the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (the `asan` preset);
#   3. the whole test suite on the Release build, whose CTest summary closes the run.
# Each stage's heading says how long the run has taken so far. scripts/test.sh --quick runs only 3.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ ${1:-} == --quick ]] && quick=1
scripts/setup.sh
stage() { printf '\n==== %s (%d:%02d so far)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

if ((!quick)); then
  stage "fuzzing: each target for 30 s (build-fuzz/)"
  scripts/fuzz.sh all 30

  stage "the test suite under ASan + UBSan (build-asan/)"
  cmake --preset asan > /dev/null
  cmake --build --preset asan
  ctest --preset asan -j "$(nproc)"
fi

stage "the test suite (build/, Release)"
scripts/build.sh
cd build
ctest -j "$(nproc)" --output-on-failure
