#!/usr/bin/env bash
# What a second core adds to one large copy (bench_copy_split.c): the copy of
# a put or get on the same-host paths, done by one thread (the reference),
# split with a second thread of the same process, or split with a second
# process that reads the source with process_vm_readv (what the polling peer
# rank of an MPI job could contribute: it cannot see the origin's private
# buffer otherwise). Then memory neither process maps for the other (a
# window over host memory): one process_vm_writev (the reference there)
# against the copy split with both processes going through the kernel.
# Ratios > 1: the split copy is faster. Then one memcpy against the same copy
# in the pieces of core/wire/copy_pieces.h (bench_copy_pieces.c). Last, what
# the first access of a page through a second mapping of shared memory costs
# (bench_first_touch.c).
#   contrib/bench/copy/run.sh [--quick] [--csv FILE]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
csv="" max=$((8 << 20))
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) max=$((1 << 20)) ;;
  --csv) csv=$2; shift ;;
  *) echo "usage: $0 [--quick] [--csv FILE]" >&2; exit 2 ;;
  esac
  shift
done
bin=${VESHM_BUILD_DIR:-$root/build}/contrib/bench/copy/bench_copy_split
touch_bin=$(dirname "$bin")/bench_first_touch
pieces_bin=$(dirname "$bin")/bench_copy_pieces
for b in "$bin" "$touch_bin" "$pieces_bin"; do [ -x "$b" ] || { echo "copy: $b not built" >&2; exit 1; }; done
out=$("$bin" "$max" kernel)
echo "One copy split between two cores, the origin claiming 64 KiB at a time, a thread likewise, a process its share through the kernel; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; medians of 5"
echo
echo "| size | one thread us | split with a thread us | ratio | split with a process (process_vm_readv) us | ratio | memory neither maps: one process_vm_writev us | split, both through the kernel us | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk '{ s = $1 >= 1048576 ? $1 / 1048576 " MiB" : $1 / 1024 " KiB"
       printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", s, $2, $3, $2 / $3, $4, $2 / $4, $5, $6, $5 / $6 }' <<<"$out"
if [ -n "$csv" ]; then
  # Bandwidth in GB/s, the one-thread copy as reference.
  awk '{ one = $1 / $2 / 1000; th = $1 / $3 / 1000; pr = $1 / $4 / 1000
         printf "copy,one thread,%d,%.6g,%.6g,GB/s,bandwidth\n", $1, one, one
         printf "copy,split with a thread,%d,%.6g,%.6g,GB/s,bandwidth\n", $1, th, one
         printf "copy,split with a process,%d,%.6g,%.6g,GB/s,bandwidth\n", $1, pr, one
         k1 = $1 / $5 / 1000; ks = $1 / $6 / 1000
         printf "copy,split through the kernel,%d,%.6g,%.6g,GB/s,bandwidth\n", $1, ks, k1 }' <<<"$out" >>"$csv"
fi

pieces_out=$("$pieces_bin" "$max")
echo
echo "One copy between shared and private memory: one memcpy (reference) against the same bytes in pieces of 512 KiB (core/wire/copy_pieces.h); us, medians of 9 rounds of the best of 20. Ratios > 1: the pieces are faster"
echo
echo "| size | get: one memcpy | pieces | ratio | put: one memcpy | pieces | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
awk '{ s = $1 >= 1048576 ? $1 / 1048576 " MiB" : $1 / 1024 " KiB"
       printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", s, $2, $3, $2 / $3, $4, $5, $4 / $5 }' <<<"$pieces_out"
if [ -n "$csv" ]; then
  awk '{ printf "copy,get in pieces,%d,%.6g,%.6g,us,latency\n", $1, $3, $2
         printf "copy,put in pieces,%d,%.6g,%.6g,us,latency\n", $1, $5, $4 }' <<<"$pieces_out" >>"$csv"
fi

touch_out=$("$touch_bin")
echo
echo "A view of shared memory another mapping filled, written 64 KiB at a time over 64 MiB: us per 64 KiB, medians of 5; reference: the second pass. Last column: one load a page through the filled mapping and as much private memory, both warm before the view was prepared"
echo
echo "| view | prepared (madvise or loads) | first pass | second pass | first / second | other memory after |"
echo "|---|---:|---:|---:|---:|---:|"
awk '{ printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", $1, $2, $3, $4, $3 / $4, $5 }' <<<"$touch_out"
if [ -n "$csv" ]; then
  awk '{ printf "copy,first touch %s,65536,%.6g,%.6g,us,latency\n", $1, $3, $4 }' <<<"$touch_out" >>"$csv"
fi
