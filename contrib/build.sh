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
# itself (fetches Debian's UCX source once through the machine's apt, into
# ~/.cache/veshm; or takes VESHM_UCX_SOURCE, a copy made elsewhere).

echo "build: configuring $build"
cmake -S "$root" -B "$build" "$@"
echo "build: compiling with $jobs jobs"
cmake --build "$build" -j "$jobs"
