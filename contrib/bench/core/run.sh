#!/usr/bin/env bash
# Core benchmark: VE memory copies, DMA across processes, VESHM control paths.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${VESHM_BUILD_DIR:-$here/../../../build}
exec "$build/contrib/bench/core/bench_core" "$@"
