#!/usr/bin/env bash
# Installs the dependencies, then configures and builds veshm.
#   contrib/build.sh [BUILD_DIR] [extra cmake options...]
# BUILD_DIR defaults to build/ in the repository. Used by quickstart.sh and
# run-tests.sh; runs from any working directory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
shift || true
jobs=${VESHM_JOBS:-2}

bash "$root/contrib/install-deps.sh"
# The UCX transport's internal UCX headers: CMake runs contrib/ucx-headers.sh
# itself (downloads Debian's UCX source once, into ~/.cache/veshm).

echo "build: configuring $build"
cmake -S "$root" -B "$build" "$@"
echo "build: compiling with $jobs jobs"
cmake --build "$build" -j "$jobs"
