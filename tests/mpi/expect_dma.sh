#!/usr/bin/env bash
# Proof that VE DMA moved the data:
#   expect_dma.sh MIN_BYTES NPROCS COMMAND...
# COMMAND's ranks preload the DMA counter (tests/mpi/dma_count.c, passed in
# VESHM_RANK_PRELOAD), which prints "dma_count: pid P posts N bytes B" at
# exit. Passes when COMMAND succeeds and at least NPROCS processes each posted
# at least MIN_BYTES of VE DMA; fails when the RMA went through any other
# transport (no DMA then).
set -uo pipefail
min=${1:?usage: expect_dma.sh MIN_BYTES NPROCS COMMAND...}
nprocs=${2:?}
shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" >"$log" 2>&1
rc=$?
cat "$log"
if [ $rc -ne 0 ]; then
  echo "expect_dma: command failed with status $rc"
  exit 1
fi
n=$(awk -v min="$min" '/^dma_count: pid [0-9]+ posts [0-9]+ bytes [0-9]+$/ && $7 >= min { n++ } END { print n + 0 }' "$log")
echo "expect_dma: $n processes posted at least $min bytes of VE DMA (need $nprocs)"
[ "$n" -ge "$nprocs" ] || { echo "expect_dma: FAIL: one-sided traffic was not VE DMA"; exit 1; }
echo "expect_dma: OK"
