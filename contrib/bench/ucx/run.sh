#!/usr/bin/env bash
# UCX benchmark: ucx_perftest put_bw, get (bandwidth) and put_lat over veshm
# and over UCX's own shared-memory transports posix, sysv and cma, with a
# memcpy of the same sizes as the physical reference, in one run:
#   contrib/bench/ucx/run.sh [--quick] [--csv FILE]
# Layouts: veshm and cma zcopy (their RMA path for large messages), posix and
# sysv bcopy (they have no zcopy); put_lat uses put_short. Bandwidth in GB/s
# (10^9 B/s) from ucx_perftest's overall (mean) figure, and for veshm also from
# the median operation time; latency in microseconds, the median (50th
# percentile) of ucx_perftest's one-way latency. The memcpy reference copies
# between two buffers of the size in one thread, nothing else running. The module is
# found like contrib/veshm-env.sh finds it (VESHM_BUILD_DIR, build-ucx/, build/).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
quick=0
csv=""
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) quick=1; shift ;;
  --csv) csv=$2; shift 2 ;;
  *) echo "usage: run.sh [--quick] [--csv FILE]" >&2; exit 2 ;;
  esac
done
# shellcheck source=contrib/veshm-env.sh disable=SC1091
. "$root/contrib/veshm-env.sh" || exit 1
build=$(cd "$(dirname "$VESHM_UCX_MODULE")/.." && pwd)
memcpy_bin=$build/contrib/bench/ucx/bench_memcpy
[ -x "$memcpy_bin" ] || { echo "run.sh: $memcpy_bin not built" >&2; exit 1; }
command -v ucx_perftest >/dev/null || { echo "run.sh: ucx_perftest not found (ucx-utils)" >&2; exit 1; }
unset UCX_TLS

if [ $quick -eq 1 ]; then
  bw_sizes="65536 1048576"
  lat_sizes="8"
  iters_bw=500
  iters_lat=20000
  reps=1
else
  bw_sizes="4096 65536 1048576 4194304 16777216"
  lat_sizes="8 64 1024"
  iters_bw=2000
  iters_lat=100000
  reps=3
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# perftest TL DEV TEST SIZE ITERS ARGS... -> the client's "Final:" line
perftest() {
  local tl=$1 dev=$2 t=$3 s=$4 n=$5 port
  shift 5
  port=$((20000 + (RANDOM * 7 + $$) % 30000))
  timeout 300 ucx_perftest -t "$t" -x "$tl" -d "$dev" -s "$s" -n "$n" -p "$port" "$@" >"$tmp/server" 2>&1 &
  local srv=$!
  sleep 0.3
  timeout 300 ucx_perftest localhost -t "$t" -x "$tl" -d "$dev" -s "$s" -n "$n" -p "$port" "$@" 2>"$tmp/client.err" |
    grep '^Final:' | tail -1
  wait $srv 2>/dev/null
}

# "overall p50" bandwidth in GB/s, best of $reps runs ("" if none ran):
# overall = ucx_perftest's mean over all iterations; p50 = size / median
# iteration time (typical operation, without the scheduler stalls that a
# 2-core machine with a spinning server adds to the mean)
bw() {
  local best="" best50="" line v v50 s=$4
  for _ in $(seq $reps); do
    line=$(perftest "$@")
    [ -n "$line" ] || continue
    v=$(awk '{ printf "%.3f", $7 * 1048576 / 1e9 }' <<<"$line")
    v50=$(awk -v s="$s" '{ if ($3 > 0) printf "%.3f", s / ($3 * 1e-6) / 1e9 }' <<<"$line")
    best=$(awk -v a="$best" -v b="$v" 'BEGIN { if (a == "" || b > a) print b; else print a }')
    best50=$(awk -v a="$best50" -v b="$v50" 'BEGIN { if (a == "" || b > a) print b; else print a }')
  done
  echo "$best $best50"
}

# lowest median latency in us of $reps runs
lat() {
  local best="" line v
  for _ in $(seq $reps); do
    line=$(perftest "$@")
    [ -n "$line" ] || continue
    v=$(awk '{ printf "%.3f", $3 }' <<<"$line")
    best=$(awk -v a="$best" -v b="$v" 'BEGIN { if (a == "" || b < a) print b; else print a }')
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
csvline() { [ -z "$csv" ] || echo "ucx,$1,$2,$3,$4,$5,$6" >>"$csv"; }
hs() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%g MiB", b / 1048576; else if (b >= 1024) printf "%g KiB", b / 1024; else printf "%d B", b }'; }

dev=$(ucx_info -d -t veshm 2>/dev/null | awk '/Device:/ { print $3; exit }')
[ -n "$dev" ] || { echo "run.sh: ucx_info does not list the veshm transport" >&2; exit 1; }

echo "UCX transports, ucx_perftest on one host; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, UCX $(ucx_info -v | sed -n 's/# Version //p')"
echo "bandwidth GB/s (best of $reps), latency us (median); ratios: veshm against each"
for test in put_bw get; do
  echo
  echo "$test (veshm, cma: zcopy; posix, sysv: bcopy): mean bandwidth; veshm50 = from the median operation time"
  printf '%-8s %8s %8s %8s %8s %8s %8s | %6s %6s %6s %8s %10s\n' size veshm cma posix sysv memcpy veshm50 /cma /posix /sysv /memcpy 50/memcpy
  for s in $bw_sizes; do
    read -r v v50 <<<"$(bw veshm "$dev" $test "$s" $iters_bw -D zcopy)"
    read -r c _ <<<"$(bw cma memory $test "$s" $iters_bw -D zcopy)"
    read -r p _ <<<"$(bw posix memory $test "$s" $iters_bw -D bcopy)"
    read -r y _ <<<"$(bw sysv memory $test "$s" $iters_bw -D bcopy)"
    m=$("$memcpy_bin" "$s" | awk '{ print $2 }')
    printf '%-8s %8s %8s %8s %8s %8s %8s | %6s %6s %6s %8s %10s\n' "$(hs "$s")" "${v:--}" "${c:--}" "${p:--}" "${y:--}" "$m" "${v50:--}" \
      "$(ratio "$v" "$c")" "$(ratio "$v" "$p")" "$(ratio "$v" "$y")" "$(ratio "$v" "$m")" "$(ratio "$v50" "$m")"
    for pair in "veshm:$v" "cma:$c" "posix:$p" "sysv:$y" "veshm-p50:$v50"; do
      [ -n "${pair#*:}" ] && csvline "$test ${pair%%:*}" "$s" "${pair#*:}" "$m" GB/s bandwidth
    done
    csvline "memcpy" "$s" "$m" "$m" GB/s bandwidth
  done
done
echo
echo "put_lat (put_short; cma has no put_short)"
printf '%-8s %8s %8s %8s | %9s %9s\n' size veshm posix sysv /posix /sysv
for s in $lat_sizes; do
  v=$(lat veshm "$dev" put_lat "$s" $iters_lat)
  p=$(lat posix memory put_lat "$s" $iters_lat)
  y=$(lat sysv memory put_lat "$s" $iters_lat)
  printf '%-8s %8s %8s %8s | %9s %9s\n' "$(hs "$s")" "${v:--}" "${p:--}" "${y:--}" "$(ratio "$v" "$p")" "$(ratio "$v" "$y")"
  for pair in "veshm:$v" "posix:$p" "sysv:$y"; do
    [ -n "${pair#*:}" ] && csvline "put_lat ${pair%%:*}" "$s" "${pair#*:}" "$p" us latency
  done
done
echo
echo "Targets (issue 4): veshm put_bw at 1 MiB >= 1.5x cma and >= 0.8x memcpy; 8 B put_lat <= 1.2x posix."
