#!/usr/bin/env bash
# Installs dependencies, builds taxon, and evaluates the shipped linnaeus example
# (the optimizer groups of a linnaeus mFormerV1 config) against the model dump it targets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
echo
echo "+ taxon eval examples/linnaeus/mformer_groups.yaml --dump examples/dumps/mformer_tiny.json"
build/tools/taxon eval examples/linnaeus/mformer_groups.yaml --dump examples/dumps/mformer_tiny.json
echo
echo "+ taxon eval examples/tx/vit_groups.tx --dump examples/dumps/vit_tiny.json"
build/tools/taxon eval examples/tx/vit_groups.tx --dump examples/dumps/vit_tiny.json
