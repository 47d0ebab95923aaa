#!/usr/bin/env bash
# OpenSHMEM put (putmem + quiet), get (getmem), put_rate (runs of 500
# putmems, then one quiet: us per put, as osu_oshm_put_mr), 64-bit fetch-add and 32-bit
# atomic adds on lines the peer has just written or not (add_written,
# add_kept: bench_shmem_rma.c) between two PEs on the symmetric heap, veshm mode against Open MPI's OpenSHMEM over
# UCX's shared-memory transports, interleaved in one run, with ratios:
#   contrib/bench/shmem/run.sh [--quick] [--busy] [--control] [--reps N]
#     [--ms MS] [--max BYTES] [--csv FILE] [BUILD_DIR]
# Each size runs for MS milliseconds (default 100, --quick 20), not for a
# count: with every core busy (--busy), a PE loses its core for whole time
# slices, and a loop shorter than a few of them (OSU's 100 iterations of a
# large size take ~1 ms) measures whether one fell into it. The mean over
# many slices is what a loaded node gets from each path.
# Modes, each run once per repetition, in rotating order:
#   veshm    veshm-mpi-env.sh veshm: the heap is VE memory, traffic over the
#            veshm transport;
#   default  veshm-mpi-env.sh ucx: Open MPI's OpenSHMEM over UCX posix, sysv
#            and cma (what oshrun uses without veshm; Debian's own defaults
#            do not run it);
#   control  (--control) the default path again: control / default is the
#            run's own noise.
# --reps N: repetitions (default 5, --quick 2); the table shows medians of
#   the per-repetition means. --busy: one spinning process per core beside
#   the PEs for the whole run (busy.sh). --csv: one line per measurement in
#   the convention of contrib/bench/README.md (latency, us).
# Ratio: veshm / default (< 1: veshm faster).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
csv="" quick=0 busy=0 control=0 reps="" ms="" max=4194304 args=()
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) quick=1 ;;
  --busy) busy=1 ;;
  --control) control=1 ;;
  --reps) reps=$2; shift ;;
  --ms) ms=$2; shift ;;
  --max) max=$2; shift ;;
  --csv) csv=$2; shift ;;
  -*) echo "usage: run.sh [--quick] [--busy] [--control] [--reps N] [--ms MS] [--max BYTES] [--csv FILE] [BUILD_DIR]" >&2; exit 2 ;;
  *) args+=("$1") ;;
  esac
  shift
done
[ -n "$reps" ] || reps=$((quick ? 2 : 5))
[ -n "$ms" ] || ms=$((quick ? 20 : 100))
build=$(cd "${args[0]:-${VESHM_BUILD_DIR:-$root/build}}" && pwd)
bench=$build/contrib/bench/shmem/bench_shmem_rma
if [ ! -x "$bench" ]; then
  echo "shmem: $bench not built (no oshcc?): skipped"
  exit 0
fi
export VESHM_BUILD_DIR=$build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
modes=(veshm default)
[ $control -eq 1 ] && modes+=(control)

# shellcheck source=contrib/bench/busy.sh
. "$root/contrib/bench/busy.sh"
tmp=$(mktemp -d)
trap 'busy_stop; rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
[ $busy -eq 0 ] || busy_start

# Lines "mode rep op size us" in $tmp/all.
for ((r = 1; r <= reps; r++)); do
  # Rotate the order, so that no mode always runs first after the others.
  for ((i = 0; i < ${#modes[@]}; i++)); do
    mode=${modes[$(((i + r) % ${#modes[@]}))]}
    env_mode=$mode
    [ "$mode" = veshm ] || env_mode=ucx
    echo "shmem: [$r/$reps] $mode" >&2
    if ! "$root/contrib/mpi/veshm-mpirun" "$env_mode" oshrun -np 2 --bind-to core \
      "$bench" "$max" "$ms" >"$tmp/out" 2>"$tmp/err"; then
      echo "shmem: the $mode run failed:" >&2
      tail -5 "$tmp/err" >&2
      exit 1
    fi
    awk -v m="$mode" -v r="$r" '!/^#/ { print m, r, $1, $2, $3 }' "$tmp/out" >>"$tmp/all"
  done
done
busy_stop

echo "OpenSHMEM, 2 PEs, symmetric heap, $ms ms per size; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores;" \
  "$([ $busy -eq 1 ] && echo "busy: $(nproc) spinning processes" || echo "no added load");" \
  "load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after; medians of $reps"
echo "veshm: veshm-mpi-env.sh veshm; default: veshm-mpi-env.sh ucx (UCX posix/sysv/cma);" \
  "us per operation (put: putmem + quiet; put_rate: per put of a run); ratio = veshm / default, < 1: veshm faster"
echo
awk -v control="$control" -v csv="$csv" '
function median(m, k,   n, i, j, v, t) {
  n = cnt[m, k]
  for (i = 1; i <= n; i++) v[i] = val[m, k, i]
  for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function hs(b) { return b >= 1048576 ? b / 1048576 " MiB" : b >= 1024 ? b / 1024 " KiB" : b " B" }
{ k = $3 SUBSEP $4; val[$1, k, ++cnt[$1, k]] = $5; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } }
END {
  printf "| op | size | veshm us | default us | veshm/default |%s\n", control ? " control us | control/default |" : ""
  printf "|---|---:|---:|---:|---:|%s\n", control ? "---:|---:|" : ""
  for (i = 1; i <= nk; i++) {
    split(keys[i], f, SUBSEP)
    v = median("veshm", keys[i]); d = median("default", keys[i])
    line = sprintf("| %s | %s | %.4f | %.4f | %.2f |", f[1], hs(f[2]), v, d, v / d)
    if (control) { c = median("control", keys[i]); line = line sprintf(" %.4f | %.2f |", c, c / d) }
    print line
    if (v / d > 1.05) below++
    if (control && c / d > 1.05) cbelow++
    if (csv != "") printf "shmem,%s veshm,%s,%.6g,%.6g,us,latency\n", f[1], f[2], v, d >> csv
  }
  printf "\nrows above 1.05x the default path: veshm %d of %d%s\n", below, nk,
    control ? sprintf(", control %d of %d", cbelow, nk) : ""
}' "$tmp/all"
