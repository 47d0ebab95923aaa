#!/usr/bin/env bash
# Runs ucx_perftest server and client on this host over one transport:
#   perftest.sh TL DEVICE TEST SIZE DMA [ucx_perftest options...]
# e.g. perftest.sh veshm ve0 put_bw 1048576 put -D zcopy -n 1000
# The veshm module is preloaded when VESHM_UCX_MODULE names it, and the DMA
# counter (tests/ucx/dma_count.c) when VESHM_DMA_COUNTER does. Passes when
# both sides exit 0, the client printed its final line with a bandwidth and
# message rate above 0, and, with the counter, the client's VE DMA was
#   DMA=put|get: put (get) of at least every measured iteration's bytes by
#                VE DMA or through the host view (SIZE less the up to 3 + 3
#                edge bytes a DMA transfer moves otherwise), i.e. veshm moved
#                the data;
#   DMA=none:    none at all (active messages);
#   DMA=any:     not checked (UCP tests: with UCX_TLS=veshm,self only veshm
#                reaches the other process, so the run itself is the proof).
# ucx_perftest checks no data; the UCT-level tests (UctVeshmData) do.
set -uo pipefail
usage="usage: perftest.sh TL DEVICE TEST SIZE put|get|none|any [options]"
tl=${1:?$usage}
dev=${2:?$usage}
test=${3:?$usage}
size=${4:?$usage}
dma=${5:?$usage}
shift 5
case "$dma" in
put | get | none | any) ;;
*) echo "perftest.sh: $usage" >&2; exit 2 ;;
esac
preload=${VESHM_DMA_COUNTER:-}
if [ -n "${VESHM_UCX_MODULE:-}" ]; then
  preload="${preload:+$preload:}$VESHM_UCX_MODULE"
fi
preload="$preload${LD_PRELOAD:+:$LD_PRELOAD}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2 3; do
  port=$((20000 + (RANDOM * 7 + $$) % 30000))
  LD_PRELOAD=$preload timeout 120 ucx_perftest -t "$test" -x "$tl" -d "$dev" -s "$size" \
    -p "$port" "$@" >"$log" 2>&1 &
  server=$!
  sleep 0.3
  out=$(LD_PRELOAD=$preload timeout 120 ucx_perftest localhost -t "$test" -x "$tl" -d "$dev" \
    -s "$size" -p "$port" "$@" 2>&1)
  rc=$?
  wait $server
  src=$?
  if grep -q 'Address already in use\|bind' "$log" && [ $attempt -lt 3 ]; then
    continue
  fi
  break
done
echo "$out"
fail() {
  echo "--- server ---"
  cat "$log"
  echo "perftest.sh: FAIL: $*"
  exit 1
}
if [ "$rc" -ne 0 ] || [ "$src" -ne 0 ]; then fail "client exited $rc, server $src"; fi
# Final: <iterations> <lat 50%> <lat avg> <lat overall> <bw avg> <bw overall> <rate avg> <rate overall>
final=$(grep '^Final:' <<<"$out" | tail -1)
[ -n "$final" ] || fail "no final line"
read -r _ iters _ _ _ bw _ rate _ <<<"$final"
awk -v i="$iters" -v b="$bw" -v r="$rate" 'BEGIN { exit !(i > 0 && b > 0 && r > 0) }' ||
  fail "no iterations, bandwidth or message rate in: $final"
if [ -n "${VESHM_DMA_COUNTER:-}" ]; then
  counted=$(grep -E '^dma_count: pid [0-9]+ posts [0-9]+ bytes [0-9]+ put [0-9]+ get [0-9]+$' <<<"$out" | tail -1)
  [ -n "$counted" ] || fail "the DMA counter printed nothing in the client"
  read -r _ _ _ _ _ _ _ _ put _ get <<<"$counted"
  echo "perftest.sh: client VE DMA: $put bytes put, $get bytes got, in $iters iterations of $size bytes"
  need=$((iters * (size > 6 ? size - 6 : 0)))
  case "$dma" in
  put) [ "$put" -ge "$need" ] || fail "put $put < $need bytes: veshm did not carry the puts (VE DMA or host view)" ;;
  get) [ "$get" -ge "$need" ] || fail "get $get < $need bytes: veshm did not carry the gets (VE DMA or host view)" ;;
  none) if [ "$put" -ne 0 ] || [ "$get" -ne 0 ]; then fail "VE DMA where none was expected"; fi ;;
  any) ;;
  esac
fi
echo "perftest.sh: OK"
