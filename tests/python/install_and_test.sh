#!/usr/bin/env bash
# Installs the Python package the way users do (pip, offline, Debian's packages) into a scratch
# venv that sees the system's torch, from BUILD_DIR's already built extension, and runs its pytest
# suite against the installed copy.
#   install_and_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
/usr/bin/python3 -c "import torch" 2> /dev/null || { echo "no python3-torch: skipped"; exit 77; }
venv=$build/python-venv
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
cd "$source"
TAXON_BUILD_DIR=$build "$venv/bin/python" -m pip install -q --no-build-isolation --no-deps --no-index .
cd "$build"  # not the source tree: the installed package is the one imported
"$venv/bin/python" -c "import taxon, sys; assert taxon.__file__.startswith('$venv'), taxon.__file__"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$source/tests/python/test_package.py"
