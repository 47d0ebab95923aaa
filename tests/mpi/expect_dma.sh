#!/usr/bin/env bash
# Proof that VE DMA moved the one-sided data, puts and gets counted apart:
#   expect_dma.sh put|get|no-put MIN_BYTES NPROCS COMMAND...
# COMMAND's ranks preload the DMA counter (tests/ucx/dma_count.c, passed in
# VESHM_RANK_PRELOAD), which prints at exit
#   dma_count: pid P posts N bytes B put U get G
# (U: bytes DMA wrote into other processes' VESHM areas, G: bytes it read
# from them).
# put, get: passes when COMMAND succeeds and at least NPROCS processes each
#           posted at least MIN_BYTES of put (get) DMA; fails when that
#           traffic went through any other path (another transport, host
#           stores), whatever the other direction did.
# no-put:   the control of "put": passes only when COMMAND succeeds, the
#           counter was loaded in at least NPROCS processes, and none of them
#           posted MIN_BYTES of put DMA, i.e. the put check fails, and fails
#           because the traffic went elsewhere (not because COMMAND failed or
#           the counter was never loaded).
set -uo pipefail
usage="usage: expect_dma.sh put|get|no-put MIN_BYTES NPROCS COMMAND..."
expect=${1:?$usage}
min=${2:?$usage}
nprocs=${3:?$usage}
shift 3
case "$expect" in
put | no-put) field=9 ;;
get) field=11 ;;
*) echo "expect_dma: $usage" >&2; exit 2 ;;
esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" >"$log" 2>&1
rc=$?
cat "$log"
if [ $rc -ne 0 ]; then
  echo "expect_dma: command failed with status $rc"
  exit 1
fi
line='^dma_count: pid [0-9]+ posts [0-9]+ bytes [0-9]+ put [0-9]+ get [0-9]+$'
loaded=$(grep -cE "$line" "$log")
n=$(awk -v min="$min" -v f="$field" "/$line/"' && $f >= min { n++ } END { print n + 0 }' "$log")
what=${expect#no-}
echo "expect_dma: counter loaded in $loaded processes; $n posted at least $min bytes of $what DMA"
case "$expect" in
put | get)
  [ "$n" -ge "$nprocs" ] ||
    { echo "expect_dma: FAIL: $what traffic was not VE DMA in $nprocs processes"; exit 1; } ;;
no-put)
  [ "$loaded" -ge "$nprocs" ] ||
    { echo "expect_dma: control FAIL: the DMA counter was not loaded in $nprocs processes"; exit 1; }
  [ "$n" -eq 0 ] ||
    { echo "expect_dma: control FAIL: put traffic was VE DMA in $n processes"; exit 1; } ;;
esac
echo "expect_dma: OK ($expect)"
