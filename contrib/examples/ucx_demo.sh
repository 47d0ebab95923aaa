#!/usr/bin/env bash
# UCX over the veshm transport between two emulated VE nodes (README command
# 1 runs it after the VESHM demo):
#   contrib/examples/ucx_demo.sh [BUILD_DIR]
# 1. ucx_info -d with the module loaded: the veshm memory domain and its
#    interfaces, one per VE node.
# 2. ucx_demo: UCP maps 64 MiB of VE memory in one process (VE node 0), a
#    second process (VE node 1) gets and puts 4 MiB + 3 bytes at an odd
#    offset, every byte is checked, and UCP's endpoint report must show put
#    and get on veshm lanes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export VESHM_BUILD_DIR=${1:-${VESHM_BUILD_DIR:-$root/build}}
VESHM_UCX_MODULE=$VESHM_BUILD_DIR/ucx_tl_veshm/libuct_veshm.so
export VESHM_UCX_MODULE
# shellcheck source=../veshm-env.sh
. "$root/contrib/veshm-env.sh"

echo "--- ucx_info -d: the veshm transport as UCX sees it"
ucx_info -d | awk '/Memory domain: veshm/ {on = 1} on && /Memory domain:/ && !/veshm/ {on = 0} on' |
  grep -E 'Memory domain|Component|Transport|Device|bandwidth|latency|put_|get_' | head -24

echo "--- ucx_demo: UCP put/get on VE memory, target on VE node 0, initiator on VE node 1"
export UCX_TLS=veshm,sm,self
export UCX_ALLOC_PRIO=md:veshm,md:sysv,md:posix,huge,thp,md:*,mmap,heap
UCX_VESHM_NODE=0 "$VESHM_BUILD_DIR/contrib/examples/ucx_demo" --require-veshm --initiator-node 1
