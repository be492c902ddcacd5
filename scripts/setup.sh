#!/usr/bin/env bash
# Installs every Debian package taxon needs to build, test and cross-check.
# Idempotent; run as root (or with sudo) on Debian 12.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config
  # libraries
  # (yaml-cpp's and RE2's static archives, in their -dev packages, go into the taxon command)
  tao-pegtl-dev libyaml-cpp-dev libre2-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev doctest-dev libtorch-dev libssl-dev
  # the tests' independent UTF-8 validator
  libsimdjson-dev
  # the Python package (python/): its extension, and pip installing it into a venv
  pybind11-dev python3-dev python3-venv python3-pip python3-setuptools
  # sharded conversion across machines: the Slurm test starts its own single-node cluster
  slurm-wlm munge
  # reliability (docs/reliability.md): libFuzzer and the sanitizers' runtimes, fault injection
  clang libclang-rt-14-dev lld strace util-linux
  # shell completion and the man page: checked in the suite
  zsh fish man-db groff-base
  # reference values and cross-checks only; never a run-time dependency
  python3-torch python3-torchvision python3-yaml python3-numpy python3-omegaconf python3-pytest
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
