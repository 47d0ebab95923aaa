#!/usr/bin/env bash
# MPI one-sided put/get over veshm against Open MPI's default shared-memory
# path, in one run on the same machine, one table with ratios:
#   contrib/bench/mpi/run.sh [--quick] [--csv FILE] [BUILD_DIR] [MAX_BYTES] [REPETITIONS]
# --quick: up to 4 MiB, one repetition; --csv: one line per measurement in the
# convention of contrib/bench/README.md (veshm against the default path).
# veshm:   osc/ucx over UCX with the veshm transport; the window of
#          MPI_Win_allocate is VE memory; put/get are copies through veshm's
#          host views of it (the routing library's same-host path,
#          docs/MPI_ROUTING.md), or VE DMA through osc/ucx when the
#          environment has VESHM_OSC_DIRECT=0.
# default: Open MPI as Debian configures it (osc/rdma over btl/vader: the
#          origin copies straight into the target's shared-memory window).
# ucx:     osc/ucx over UCX's posix/sysv transports, for reference.
# default_yield: the default path again, ranks yielding when idle.
# When MPICH is installed (mpirun.mpich, and bench_mpi_rma_mpich built):
# mpich_veshm: MPICH 4.0.2 (ch4:ucx) in veshm-mpi-env.sh mode mpich, on a
#          window of VE memory the program allocates (MPI_Win_create: MPICH's
#          own MPI_Win_allocate memory is host memory), put/get are VE DMA.
# mpich:   MPICH as Debian configures it, MPI_Win_allocate window: its
#          baseline.
# Bandwidth in MB/s (10^6 B/s), best of REPETITIONS (default 3; put also as
# the ratio of the median repetitions); latency in
# microseconds per operation completed by MPI_Win_flush. Ratios > 1 mean
# veshm is better (higher bandwidth, lower latency).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
csv="" quick=0 args=()
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) quick=1 ;;
  --csv) csv=$2; shift ;;
  *) args+=("$1") ;;
  esac
  shift
done
set -- "${args[@]}"
default_build=${VESHM_BUILD_DIR:-$root/build}
build=$(cd "${1:-$default_build}" && pwd)
if [ $quick -eq 1 ]; then
  max=${2:-4194304}
  reps=${3:-1}
else
  max=${2:-67108864}
  reps=${3:-3}
fi
bench=$build/contrib/bench/mpi/bench_mpi_rma
[ -x "$bench" ] || { echo "run.sh: $bench not built" >&2; exit 1; }
bench_mpich=$build/contrib/bench/mpi/bench_mpi_rma_mpich
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export VESHM_BUILD_DIR=$build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# default_yield: the default path with ranks that yield when idle, as the
# veshm mode's ranks do (veshm-mpi-env.sh), to show it is not the yield.
for mode in veshm default ucx default_yield; do
  echo "run.sh: $mode ..." >&2
  env_mode=$mode extra=()
  [ "$mode" = default_yield ] && env_mode=default extra=(--mca mpi_yield_when_idle 1)
  if ! "$root/contrib/mpi/veshm-mpirun" "$env_mode" mpirun "${extra[@]}" -np 2 "$bench" "$max" "$reps" \
    >"$tmp/$mode.out" 2>"$tmp/$mode.err"; then
    echo "run.sh: the $mode run failed, its columns stay empty:" >&2
    tail -5 "$tmp/$mode.err" >&2
  fi
  grep -v '^#' "$tmp/$mode.out" >"$tmp/$mode" || true
done
: >"$tmp/mpich_veshm"
: >"$tmp/mpich"
if command -v mpirun.mpich >/dev/null && [ -x "$bench_mpich" ]; then
  for mode in mpich_veshm mpich; do
    echo "run.sh: $mode ..." >&2
    if [ "$mode" = mpich_veshm ]; then
      run=("$root/contrib/mpi/veshm-mpirun" mpich mpirun.mpich -np 2 "$root/contrib/mpi/veshm-rank"
        "$bench_mpich" "$max" "$reps" ve)
    else
      run=(mpirun.mpich -np 2 "$bench_mpich" "$max" "$reps")
    fi
    if ! "${run[@]}" >"$tmp/$mode.out" 2>"$tmp/$mode.err"; then
      echo "run.sh: the $mode run failed, its columns stay empty:" >&2
      tail -5 "$tmp/$mode.err" >&2
    fi
    grep -v '^#' "$tmp/$mode.out" >"$tmp/$mode" || true
  done
else
  echo "run.sh: no MPICH (mpirun.mpich, bench_mpi_rma_mpich): MPICH columns stay empty" >&2
fi

echo "MPI one-sided, 2 ranks, MPI_Win_allocate window; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo "bandwidth MB/s (best of $reps), latency us; ratio = veshm vs default (>1: veshm better);"
echo "median ratio = the same for the median repetition's put bandwidth;"
echo "MPICH: mpich+veshm on a VE-memory window vs MPICH as Debian configures it"
echo
# One row per size of the default run; "-" where a run has no value.
awk '
function hs(b) { return b >= 1048576 ? b / 1048576 " MiB" : b >= 1024 ? b / 1024 " KiB" : b " B" }
function v(m, s, k) { return ((m, s, k) in d) ? d[m, s, k] : "" }
function num(x, f) { return x == "" ? "-" : sprintf(f, x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
FNR == 1 { m = FILENAME; sub(/.*\//, "", m) }
{ for (k = 2; k <= 7; k++) d[m, $1, k] = $k; if (m == "default") sizes[++n] = $1 }
END {
  printf "| size | put BW veshm | put BW default | ratio | median ratio | put BW default+yield | put BW ucx | get BW veshm | get BW default | ratio | get BW ucx | put lat veshm | put lat default | ratio | get lat veshm | get lat default | ratio | put BW mpich+veshm | put BW mpich | ratio | get BW mpich+veshm | get BW mpich | ratio |\n"
  printf "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
  for (i = 1; i <= n; i++) {
    s = sizes[i]
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", hs(s),
      num(v("veshm", s, 3), "%.0f"), num(v("default", s, 3), "%.0f"), ratio(v("veshm", s, 3), v("default", s, 3)),
      ratio(v("veshm", s, 6), v("default", s, 6)), num(v("default_yield", s, 3), "%.0f"), num(v("ucx", s, 3), "%.0f"),
      num(v("veshm", s, 5), "%.0f"), num(v("default", s, 5), "%.0f"), ratio(v("veshm", s, 5), v("default", s, 5)), num(v("ucx", s, 5), "%.0f"),
      num(v("veshm", s, 2), "%.2f"), num(v("default", s, 2), "%.2f"), ratio(v("default", s, 2), v("veshm", s, 2)),
      num(v("veshm", s, 4), "%.2f"), num(v("default", s, 4), "%.2f"), ratio(v("default", s, 4), v("veshm", s, 4)),
      num(v("mpich_veshm", s, 3), "%.0f"), num(v("mpich", s, 3), "%.0f"), ratio(v("mpich_veshm", s, 3), v("mpich", s, 3)),
      num(v("mpich_veshm", s, 5), "%.0f"), num(v("mpich", s, 5), "%.0f"), ratio(v("mpich_veshm", s, 5), v("mpich", s, 5))
  }
}' "$tmp/veshm" "$tmp/default" "$tmp/ucx" "$tmp/default_yield" "$tmp/mpich_veshm" "$tmp/mpich"

# CSV: bench,series,size,value,reference,unit,kind with the default path as
# the reference of veshm (bandwidth in GB/s, latency in us).
if [ -n "$csv" ]; then
  awk -v out="$csv" '
  FNR == 1 { m = FILENAME; sub(/.*\//, "", m) }
  { for (k = 2; k <= 5; k++) d[m, $1, k] = $k; if (m == "default") sizes[++n] = $1 }
  function row(series, s, k, scale, unit, kind) {
    if (((("veshm", s, k) in d)) && ((("default", s, k) in d)))
      printf "mpi,%s,%s,%.6g,%.6g,%s,%s\n", series, s, d["veshm", s, k] * scale, d["default", s, k] * scale, unit, kind >> out
  }
  # The default path also as curves of its own: put and get differ too much
  # for one reference line.
  function ref(series, s, k, scale, unit, kind) {
    if ((("default", s, k) in d))
      printf "mpi,%s,%s,%.6g,%.6g,%s,%s\n", series, s, d["default", s, k] * scale, d["default", s, k] * scale, unit, kind >> out
  }
  END {
    for (i = 1; i <= n; i++) {
      s = sizes[i]
      row("MPI_Put veshm", s, 3, 1e-3, "GB/s", "bandwidth")
      row("MPI_Get veshm", s, 5, 1e-3, "GB/s", "bandwidth")
      row("MPI_Put veshm", s, 2, 1, "us", "latency")
      row("MPI_Get veshm", s, 4, 1, "us", "latency")
      ref("MPI_Put default", s, 3, 1e-3, "GB/s", "bandwidth")
      ref("MPI_Get default", s, 5, 1e-3, "GB/s", "bandwidth")
    }
  }' "$tmp/veshm" "$tmp/default"
fi
