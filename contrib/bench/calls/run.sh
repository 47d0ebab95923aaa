#!/usr/bin/env bash
# Call benchmark: AVEO's four call-latency tests and 1-byte veo_write_mem /
# veo_read_mem, against a cross-process shared-memory ping-pong and memcpy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${VESHM_BUILD_DIR:-$here/../../../build}
exec "$build/contrib/bench/calls/bench_calls" "$@"
