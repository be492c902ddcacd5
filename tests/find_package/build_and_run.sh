#!/usr/bin/env bash
# Installs taxon from BUILD_DIR into a scratch prefix, builds examples/trainer out of tree
# against it with find_package(taxon), and runs the trainer.
#   build_and_run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
prefix=$build/find_package/prefix
trainer=$build/find_package/trainer
rm -rf "$build/find_package"
cmake --install "$build" --prefix "$prefix" > "$build/find_package.install.log"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cmake -S "$source/examples/trainer" -B "$trainer" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$trainer"
# The embedding example: the public header alone (include/taxon/taxon.hpp), linked as taxon::taxon.
embed=$build/find_package/embed
cmake -S "$source/examples/embed" -B "$embed" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$embed"
# The installed stdlib and actions library are found from the prefix, not the source tree.
cd "$source"
TAXON_STDLIB="$prefix/share/taxon/stdlib" "$trainer/train" examples/trainer/groups.tx
out=$build/find_package/embedded.safetensors
TAXON_STDLIB="$prefix/share/taxon/stdlib" "$embed/embed" examples/embed/groups.tx tests/data/dumps/llama_tiny.json \
  tests/data/ckpt/llama_tiny/ddp.pt "$out" | tee "$build/find_package/embed.log"
grep -q "^wrote $out" "$build/find_package/embed.log"
