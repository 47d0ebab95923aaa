#!/usr/bin/env bash
# MPI one-sided put/get over veshm against Open MPI's default shared-memory
# path, in one run on the same machine, one table with ratios:
#   contrib/bench/mpi/run.sh [BUILD_DIR] [MAX_BYTES] [REPETITIONS]
# veshm:   osc/ucx over UCX with the veshm transport; the window of
#          MPI_Win_allocate is VE memory, put/get are VE DMA.
# default: Open MPI as Debian configures it (osc/rdma over btl/vader: the
#          origin copies straight into the target's shared-memory window).
# ucx:     osc/ucx over UCX's posix/sysv transports, for reference.
# Bandwidth in MB/s (10^6 B/s), best of REPETITIONS (default 3); latency in
# microseconds per operation completed by MPI_Win_flush. Ratios > 1 mean
# veshm is better (higher bandwidth, lower latency).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
max=${2:-67108864}
reps=${3:-3}
bench=$build/contrib/bench/mpi/bench_mpi_rma
[ -x "$bench" ] || { echo "run.sh: $bench not built" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export VESHM_BUILD_DIR=$build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for mode in veshm default ucx; do
  echo "run.sh: $mode ..." >&2
  if ! "$root/contrib/mpi/veshm-mpirun" "$mode" mpirun -np 2 "$bench" "$max" "$reps" \
    >"$tmp/$mode.out" 2>"$tmp/$mode.err"; then
    echo "run.sh: $mode run failed:" >&2
    tail -20 "$tmp/$mode.err" >&2
    exit 1
  fi
  grep -v '^#' "$tmp/$mode.out" >"$tmp/$mode"
done

echo "MPI one-sided, 2 ranks, MPI_Win_allocate window; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo "bandwidth MB/s (best of $reps), latency us; ratio = veshm vs default (>1: veshm better)"
echo
paste "$tmp/veshm" "$tmp/default" "$tmp/ucx" | awk '
function hs(b) { return b >= 1048576 ? b / 1048576 " MiB" : b >= 1024 ? b / 1024 " KiB" : b " B" }
BEGIN {
  printf "| size | put BW veshm | put BW default | ratio | put BW ucx | get BW veshm | get BW default | ratio | get BW ucx | put lat veshm | put lat default | ratio | get lat veshm | get lat default | ratio |\n"
  printf "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
}
{
  # veshm: $1..$5, default: $6..$10, ucx: $11..$15
  printf "| %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.2f | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
    hs($1), $3, $8, $3 / $8, $13, $5, $10, $5 / $10, $15, $2, $7, $7 / $2, $4, $9, $9 / $4
}'
