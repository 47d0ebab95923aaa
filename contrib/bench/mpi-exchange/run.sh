#!/usr/bin/env bash
# Large puts both ways between two fences (osu_put_bibw's pattern, "bi") and
# one way ("uni"), bench_mpi_exchange.c, epoch by epoch, in three modes
# interleaved in one run:
#   contrib/bench/mpi-exchange/run.sh [--quick] [--reps N] [--csv FILE] [BUILD_DIR]
#   veshm    veshm-mpi-env.sh veshm: the window is VE memory, puts are copies
#            through veshm's views, shared with the target when it helps
#            (mpi_osc_route/direct_help.c);
#   alone    the same with VESHM_OSC_HELP=0: the origin copies alone;
#   default  Open MPI as Debian configures it: the reference.
# Each mode runs --reps times (default 4, --quick 2) in rotating order, 200
# epochs each (--quick 50) of 64 MiB per direction (64 puts of 1 MiB, 16 of
# 4 MiB); the table pools their epochs: mean, median, 99th percentile and
# longest, and the bandwidth of the mean against the default path's (> 1:
# faster). --csv: that bandwidth, in the convention of contrib/bench/README.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
csv="" quick=0 reps="" args=()
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) quick=1 ;;
  --reps) reps=$2; shift ;;
  --csv) csv=$2; shift ;;
  -*) echo "usage: run.sh [--quick] [--reps N] [--csv FILE] [BUILD_DIR]" >&2; exit 2 ;;
  *) args+=("$1") ;;
  esac
  shift
done
[ -n "$reps" ] || reps=$((quick ? 2 : 4))
epochs=$((quick ? 50 : 200))
build=$(cd "${args[0]:-${VESHM_BUILD_DIR:-$root/build}}" && pwd)
bench=$build/contrib/bench/mpi-exchange/bench_mpi_exchange
if [ ! -x "$bench" ]; then
  echo "mpi-exchange: $bench not built (no MPI?): skipped"
  exit 0
fi
export VESHM_BUILD_DIR=$build OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
modes=(veshm alone default)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Lines "traffic size mode us" in $tmp/all.
for traffic in bi uni; do
  for size in 1048576 4194304; do
    count=$((67108864 / size))
    for ((r = 0; r < reps; r++)); do
      for ((i = 0; i < ${#modes[@]}; i++)); do
        mode=${modes[$(((i + r) % ${#modes[@]}))]}
        env_mode=$mode help=1
        [ "$mode" = alone ] && env_mode=veshm help=0
        echo "mpi-exchange: $traffic $size $mode [$((r + 1))/$reps]" >&2
        if ! VESHM_OSC_HELP=$help "$root/contrib/mpi/veshm-mpirun" "$env_mode" mpirun -np 2 \
          --bind-to core "$bench" "$size" "$epochs" "$traffic" "$count" >"$tmp/out" 2>"$tmp/err"; then
          echo "mpi-exchange: the $mode run failed:" >&2
          tail -5 "$tmp/err" >&2
          exit 1
        fi
        awk -v t="$traffic" -v s="$size" -v m="$mode" '{ print t, s, m, $1 }' "$tmp/out" >>"$tmp/all"
      done
    done
  done
done

echo "MPI_Put epochs between two fences, 2 ranks, MPI_Win_allocate window, 64 MiB per direction;" \
  "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; $reps runs x $epochs epochs per mode, pooled"
echo "alone: veshm with VESHM_OSC_HELP=0; ratio: bandwidth of the mean epoch against the default path's (> 1: faster)"
echo
echo "| traffic | size | mode | mean us | median us | p99 us | longest us | MB/s | ratio |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
sort -k1,1 -k2,2n -k3,3 -k4,4g "$tmp/all" | awk -v csv="$csv" '
  function flush(   k, mean, mb) {
    if (n == 0) return
    mean = sum / n
    mb = (tr == "bi" ? 2 : 1) * 67108864 / mean
    row[++rows] = sprintf("| %s | %d MiB | %s | %.0f | %.0f | %.0f | %.0f | %.0f |", tr, sz / 1048576, md, mean,
      v[int((n + 1) / 2)], v[int(n * 0.99) > 0 ? int(n * 0.99) : 1], v[n], mb)
    bw[tr, sz, md] = mb; key[rows] = tr SUBSEP sz
    n = 0; sum = 0
  }
  { if ($1 != tr || $2 != sz || $3 != md) { flush(); tr = $1; sz = $2; md = $3 } v[++n] = $4; sum += $4 }
  END {
    flush()
    for (i = 1; i <= rows; i++) {
      split(key[i], k, SUBSEP); split(row[i], f, "|"); m = f[4]; gsub(/ /, "", m)
      ref = bw[k[1], k[2], "default"]
      printf "%s %.2f |\n", row[i], bw[k[1], k[2], m] / ref
      if (csv != "" && m != "default")
        printf "mpi-exchange,MPI_Put %s %s,%d,%.6g,%.6g,GB/s,bandwidth\n", k[1], m, k[2], bw[k[1], k[2], m] / 1000,
          ref / 1000 >> csv
    }
  }'
