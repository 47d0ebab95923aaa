#!/usr/bin/env bash
# Two-sided UCP benchmark: ucx_perftest tag_lat and tag_bw (tag matching,
# eager and rendezvous, host memory) between two processes on this host, with
# UCX_TLS set to one shared-memory transport (and self) per series, all in
# one run:
#   contrib/bench/ucx-two-sided/run.sh [--quick] [--csv FILE]
# Series: veshm (UCX_TLS=veshm,self: active messages through VESHM receive
# FIFOs, VE DMA for zcopy), posix and sysv (UCX_TLS=posix|sysv,self), cma
# (UCX_TLS=cma,posix,self: cma has no active messages; posix carries them, cma
# the rendezvous data). Latency: median one-way time in us (lowest of $reps
# runs), reference posix. Bandwidth: GB/s (10^9 B/s), ucx_perftest's overall
# figure (best of $reps runs: on a shared 2-core machine the spinning peers
# lose whole time slices), reference the best of posix, sysv and cma at that
# size.
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
command -v ucx_perftest >/dev/null || { echo "run.sh: ucx_perftest not found (ucx-utils)" >&2; exit 1; }
unset UCX_TLS

if [ $quick -eq 1 ]; then
  lat_sizes="8 4096"
  bw_sizes="65536 4194304"
  reps=1
else
  lat_sizes="8 64 512 4096 32768"
  bw_sizes="65536 262144 1048576 4194304 16777216 67108864"
  reps=3
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tls_of() {
  case "$1" in
  veshm) echo veshm,self ;;
  posix) echo posix,self ;;
  sysv) echo sysv,self ;;
  cma) echo cma,posix,self ;;
  esac
}

# perftest SERIES TEST SIZE ITERS -> the client's "Final:" line
perftest() {
  local tls port
  tls=$(tls_of "$1")
  port=$((20000 + (RANDOM * 7 + $$) % 30000))
  UCX_TLS=$tls timeout 300 ucx_perftest -t "$2" -s "$3" -n "$4" -p "$port" >"$tmp/server" 2>&1 &
  local srv=$!
  sleep 0.3
  UCX_TLS=$tls timeout 300 ucx_perftest localhost -t "$2" -s "$3" -n "$4" -p "$port" 2>"$tmp/client.err" |
    grep '^Final:' | tail -1
  wait $srv 2>/dev/null
}

# iterations for a size: about 256 MiB moved, 20..20000
iters() { awk -v s="$1" 'BEGIN { n = int(268435456 / s); if (n < 20) n = 20; if (n > 20000) n = 20000; print n }'; }

# lowest median latency (us) of $reps runs
lat() {
  local best="" line v
  for _ in $(seq $reps); do
    line=$(perftest "$1" tag_lat "$2" 20000)
    [ -n "$line" ] || continue
    v=$(awk '{ printf "%.3f", $3 }' <<<"$line")
    best=$(awk -v a="$best" -v b="$v" 'BEGIN { if (a == "" || b < a) print b; else print a }')
  done
  echo "$best"
}

# best overall bandwidth (GB/s) of $reps runs
bw() {
  local best="" line v
  for _ in $(seq $reps); do
    line=$(perftest "$1" tag_bw "$2" "$(iters "$2")")
    [ -n "$line" ] || continue
    v=$(awk '{ printf "%.3f", $7 * 1048576 / 1e9 }' <<<"$line")
    best=$(awk -v a="$best" -v b="$v" 'BEGIN { if (a == "" || b > a) print b; else print a }')
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
maxof() { printf '%s\n' "$@" | awk 'NF && ($1 > m || m == "") { m = $1 } END { print m }'; }
csvline() { [ -z "$csv" ] || echo "ucx-two-sided,$1,$2,$3,$4,$5,$6" >>"$csv"; }
hs() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%g MiB", b / 1048576; else if (b >= 1024) printf "%g KiB", b / 1024; else printf "%d B", b }'; }

echo "UCP two-sided (ucx_perftest tag_lat/tag_bw, host memory), one host; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, UCX $(ucx_info -v | sed -n 's/# Version //p')"
echo
echo "tag_lat: median one-way latency, us (lowest of $reps)"
printf '%-8s %8s %8s %8s %8s | %8s\n' size veshm posix sysv cma /posix
for s in $lat_sizes; do
  v=$(lat veshm "$s")
  p=$(lat posix "$s")
  y=$(lat sysv "$s")
  c=$(lat cma "$s")
  printf '%-8s %8s %8s %8s %8s | %8s\n' "$(hs "$s")" "${v:--}" "${p:--}" "${y:--}" "${c:--}" "$(ratio "$v" "$p")"
  for pair in "veshm:$v" "posix:$p" "sysv:$y" "cma:$c"; do
    [ -n "${pair#*:}" ] && csvline "tag_lat ${pair%%:*}" "$s" "${pair#*:}" "$p" us latency
  done
done
echo
echo "tag_bw: GB/s overall (best of $reps); best = max(posix, sysv, cma)"
printf '%-8s %8s %8s %8s %8s | %8s\n' size veshm posix sysv cma /best
for s in $bw_sizes; do
  v=$(bw veshm "$s")
  p=$(bw posix "$s")
  y=$(bw sysv "$s")
  c=$(bw cma "$s")
  b=$(maxof "$p" "$y" "$c")
  printf '%-8s %8s %8s %8s %8s | %8s\n' "$(hs "$s")" "${v:--}" "${p:--}" "${y:--}" "${c:--}" "$(ratio "$v" "$b")"
  for pair in "veshm:$v" "posix:$p" "sysv:$y" "cma:$c"; do
    [ -n "${pair#*:}" ] && csvline "tag_bw ${pair%%:*}" "$s" "${pair#*:}" "$b" GB/s bandwidth
  done
done
echo
echo "Targets (issue 15): veshm tag_bw >= best of posix/sysv/cma from 64 KiB; tag_lat <= 1.2x posix below."
