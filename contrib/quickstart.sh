#!/usr/bin/env bash
# README command 1: sets everything up on a fresh Debian 12 machine and runs
# the demo: VESHM and VE DMA between two VH processes on emulated VEs, then
# UCX over the veshm transport.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VESHM_BUILD_DIR:-$root/build}

bash "$root/contrib/build.sh" "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo
echo "=== 1. VESHM + VE DMA: $build/contrib/examples/veshm_demo ==="
"$build/contrib/examples/veshm_demo"

# --- UCX demo hook (UCX engineer) -------------------------------------------
# contrib/examples/ucx_demo.sh, when it exists, runs UCX over the veshm
# transport between emulated VEs. It is called with the build directory.
echo
if [ -f "$root/contrib/examples/ucx_demo.sh" ]; then
  echo "=== 2. UCX over veshm: contrib/examples/ucx_demo.sh ==="
  bash "$root/contrib/examples/ucx_demo.sh" "$build"
else
  echo "=== 2. UCX over veshm: not written yet (contrib/examples/ucx_demo.sh) ==="
fi
# -----------------------------------------------------------------------------

echo
echo "quickstart: done. Build tree: $build; tests: bash contrib/run-tests.sh"
