#!/usr/bin/env bash
# Installs the Debian packages veshm needs to build, test and benchmark.
# Run as root (CI does); with sudo otherwise. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  clang libclang-rt-dev
  libgtest-dev libgmock-dev
  libhwloc-dev hwloc
  libffi-dev
  libucx-dev ucx-utils
  openmpi-bin libopenmpi-dev
  mpich libmpich-dev
  dpkg-dev xz-utils file git
)

missing=()
status=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
  grep -qx "$p install ok installed" <<<"$status" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "install-deps: missing ${missing[*]}; run as root (or install sudo)" >&2
    exit 1
  }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
