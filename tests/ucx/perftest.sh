#!/usr/bin/env bash
# Runs ucx_perftest server and client on this host over one transport:
#   perftest.sh TL DEVICE TEST SIZE [ucx_perftest options...]
# e.g. perftest.sh veshm ve0 put_bw 1048576 -D zcopy -n 1000
# The veshm module is preloaded when VESHM_UCX_MODULE names it. Passes when
# both sides exit 0 and the client printed its final line.
set -uo pipefail
tl=${1:?usage: perftest.sh TL DEVICE TEST SIZE [options]}
dev=${2:?}
test=${3:?}
size=${4:?}
shift 4
if [ -n "${VESHM_UCX_MODULE:-}" ]; then
  export LD_PRELOAD="$VESHM_UCX_MODULE${LD_PRELOAD:+:$LD_PRELOAD}"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2 3; do
  port=$((20000 + (RANDOM * 7 + $$) % 30000))
  timeout 120 ucx_perftest -t "$test" -x "$tl" -d "$dev" -s "$size" -p "$port" "$@" >"$log" 2>&1 &
  server=$!
  sleep 0.3
  out=$(timeout 120 ucx_perftest localhost -t "$test" -x "$tl" -d "$dev" -s "$size" -p "$port" "$@" 2>&1)
  rc=$?
  wait $server
  src=$?
  if grep -q 'Address already in use\|bind' "$log" && [ $attempt -lt 3 ]; then
    continue
  fi
  break
done
echo "$out"
if [ "$rc" -ne 0 ] || [ "$src" -ne 0 ] || ! grep -q '^Final:' <<<"$out"; then
  echo "--- server ---"
  cat "$log"
  echo "perftest.sh: FAIL (client $rc, server $src)"
  exit 1
fi
echo "perftest.sh: OK"
