#!/usr/bin/env bash
# The `taxon` command of an optimized build carries its C++ libraries inside it
# (cmake/static_dependencies.cmake): the shared libraries it names are glibc's alone, so that it
# starts without the dynamic loader's work over libstdc++, yaml-cpp, RE2 and fmt; and it reads
# YAML rules (yaml-cpp and RE2 from their archives). tests/golden/actions/ run it with the
# actions library, which dlopen brings in with LibTorch and a libstdc++ of its own.
#   static_dependencies_test.sh TAXON SOURCE_DIR
set -uo pipefail
taxon=$1 source_dir=$2
fail() { echo "FAIL: $*"; exit 1; }

needed=$(readelf -d "$taxon" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') || fail "readelf could not read $taxon"
[[ -n $needed ]] || fail "readelf lists no shared library for $taxon"
while read -r library; do
  case $library in
    libc.so.* | libm.so.* | ld-linux*.so.* | libdl.so.* | libpthread.so.*) ;;
    *) fail "$taxon needs $library (expected glibc's libraries only)" ;;
  esac
done <<< "$needed"

"$taxon" lint "$source_dir/bench/deepseek_v3_groups.yaml" > /dev/null || fail "lint of a YAML config failed"
echo "ok: $taxon needs only $(echo $needed)"
