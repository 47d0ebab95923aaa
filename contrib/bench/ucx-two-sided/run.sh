#!/usr/bin/env bash
# Two-sided UCP benchmark: ucx_perftest tag_lat and tag_bw (tag matching,
# eager and rendezvous) between two processes on this host, with UCX_TLS set
# to one shared-memory transport (and self) per series, all in one run:
#   contrib/bench/ucx-two-sided/run.sh [--quick] [--busy] [--csv FILE]
# Buffers are what ucx_perftest allocates for memory type host (ucp_mem_map
# with UCX_ALLOC_PRIO's default order): VE memory from veshm's MD in the veshm
# series, shared memory from the posix MD in the others, so each series'
# rendezvous reads the sender's buffer directly (veshm: VE DMA / host-view
# copy; posix, sysv: the mapped segment; cma: process_vm_readv).
# --busy: one spinning process per core beside the benchmark (busy.sh).
# Series: veshm (UCX_TLS=veshm,self: active messages through VESHM receive
# FIFOs, VE DMA for zcopy), posix and sysv (UCX_TLS=posix|sysv,self), cma
# (UCX_TLS=cma,posix,self: cma has no active messages; posix carries them, cma
# the rendezvous data). Latency: median one-way time in us, reference posix.
# Bandwidth: GB/s (10^9 B/s), ucx_perftest's overall figure, reference the
# best of posix, sysv and cma at that size. Each figure is the median of
# $reps rounds that run the four series in turn, so that load from elsewhere
# (a shared 2-core machine: the spinning peers lose whole time slices) hits
# them alike.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
quick=0
busy=0
csv=""
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) quick=1; shift ;;
  --busy) busy=1; shift ;;
  --csv) csv=$2; shift 2 ;;
  *) echo "usage: run.sh [--quick] [--busy] [--csv FILE]" >&2; exit 2 ;;
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
  reps=5
fi
tmp=$(mktemp -d)
# shellcheck source=contrib/bench/busy.sh
. "$root/contrib/bench/busy.sh"
trap 'busy_stop; rm -rf "$tmp"' EXIT
[ $busy -eq 0 ] || busy_start

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

# One measurement: tag_lat's median one-way latency (us), or tag_bw's
# overall bandwidth (GB/s); "" if the run failed.
measure() {
  local line
  if [ "$2" = tag_lat ]; then
    line=$(perftest "$1" tag_lat "$3" 20000)
    [ -n "$line" ] && awk '{ printf "%.3f", $3 }' <<<"$line"
  else
    line=$(perftest "$1" tag_bw "$3" "$(iters "$3")")
    [ -n "$line" ] && awk '{ printf "%.3f", $7 * 1048576 / 1e9 }' <<<"$line"
  fi
}

median() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The four series at one size, $reps rounds, each round all four in turn
# (a burst of load elsewhere hits them alike); prints the medians
# "veshm posix sysv cma".
series() {
  local t=$1 s=$2 v=() p=() y=() c=()
  for _ in $(seq $reps); do
    v+=("$(measure veshm "$t" "$s")")
    p+=("$(measure posix "$t" "$s")")
    y+=("$(measure sysv "$t" "$s")")
    c+=("$(measure cma "$t" "$s")")
  done
  echo "$(median "${v[@]}") $(median "${p[@]}") $(median "${y[@]}") $(median "${c[@]}")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
maxof() { printf '%s\n' "$@" | awk 'NF && ($1 > m || m == "") { m = $1 } END { print m }'; }
csvline() { [ -z "$csv" ] || echo "ucx-two-sided,$1,$2,$3,$4,$5,$6" >>"$csv"; }
hs() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%g MiB", b / 1048576; else if (b >= 1024) printf "%g KiB", b / 1024; else printf "%d B", b }'; }

echo "UCP two-sided (ucx_perftest tag_lat/tag_bw), one host; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $([ $busy -eq 1 ] && echo "busy: $(nproc) spinning processes" || echo "no added load"), UCX $(ucx_info -v | sed -n 's/# Version //p')"
echo
echo "tag_lat: median one-way latency, us (median of $reps rounds)"
printf '%-8s %8s %8s %8s %8s | %8s\n' size veshm posix sysv cma /posix
for s in $lat_sizes; do
  read -r v p y c <<<"$(series tag_lat "$s")"
  printf '%-8s %8s %8s %8s %8s | %8s\n' "$(hs "$s")" "${v:--}" "${p:--}" "${y:--}" "${c:--}" "$(ratio "$v" "$p")"
  for pair in "veshm:$v" "posix:$p" "sysv:$y" "cma:$c"; do
    [ -n "${pair#*:}" ] && csvline "tag_lat ${pair%%:*}" "$s" "${pair#*:}" "$p" us latency
  done
done
echo
echo "tag_bw: GB/s overall (median of $reps rounds); best = max(posix, sysv, cma)"
printf '%-8s %8s %8s %8s %8s | %8s\n' size veshm posix sysv cma /best
for s in $bw_sizes; do
  read -r v p y c <<<"$(series tag_bw "$s")"
  b=$(maxof "$p" "$y" "$c")
  printf '%-8s %8s %8s %8s %8s | %8s\n' "$(hs "$s")" "${v:--}" "${p:--}" "${y:--}" "${c:--}" "$(ratio "$v" "$b")"
  for pair in "veshm:$v" "posix:$p" "sysv:$y" "cma:$c"; do
    [ -n "${pair#*:}" ] && csvline "tag_bw ${pair%%:*}" "$s" "${pair#*:}" "$b" GB/s bandwidth
  done
done
echo
echo "Targets (issue 15): veshm tag_bw >= best of posix/sysv/cma from 64 KiB; tag_lat <= 1.2x posix below."
