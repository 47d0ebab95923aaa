#!/usr/bin/env bash
# Fuzzes every decoder of data that crosses a process boundary (tests/fuzz)
# with libFuzzer under ASan+UBSan, in its own build tree (build-fuzz, clang).
#
#   contrib/fuzz.sh            20 s per target
#   contrib/fuzz.sh 10         what CI runs (run-tests.sh, VESHM_FUZZ_SECONDS=10)
#   contrib/fuzz.sh 3600       long run: one hour per target
#   FUZZ_JOBS=2 contrib/fuzz.sh 600
#
# The seed corpus in tests/fuzz/corpus/<target> is only read; inputs found on
# the way go to build-fuzz/corpus/<target>. A crash stops with its input saved
# under build-fuzz/crashes/<target>/: copy it to tests/fuzz/regressions/<target>/
# once fixed, and the CTest replay (fuzz_replay_<target>) keeps checking it.
# Prints the number of inputs run per target and in total; a target that ran
# no input (it did not start, or libFuzzer printed no statistics) fails.
set -euo pipefail

seconds=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-1}
targets=(owner_messages attach_reply info_reply control_messages)
# The UCX transport's packed remote key, when the transport is in the tree.
[ -f "$root/ucx_tl_veshm/veshm_rkey_format.c" ] && targets+=(rkey)

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed" >&2; exit 2; }
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVESHM_FUZZ=ON -DVESHM_BUILD_UCX=OFF \
  -DVESHM_BUILD_BENCH=OFF >/dev/null
make -C "$build" -j2 --no-print-directory "${targets[@]/#/fuzz_}" >"$build/make.log" 2>&1 ||
  { tail -30 "$build/make.log" >&2; exit 1; }

total=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  log=$build/fuzz_$t.log
  parallel=()
  if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi
  status=0
  # Workers of a parallel run log to fuzz-<n>.log in the current directory.
  (cd "$build" && rm -f fuzz-*.log &&
   "$build/tests/fuzz/fuzz_$t" "$corpus" "$root/tests/fuzz/corpus/$t" \
     -max_total_time="$seconds" "${parallel[@]}" -print_final_stats=1 \
     -artifact_prefix="$crashes/" -max_len=16384) >"$log" 2>&1 || status=$?
  # libFuzzer's final stats: "stat::number_of_executed_units: N" per worker.
  runs=$(cat "$log" "$build"/fuzz-*.log 2>/dev/null | grep 'stat::number_of_executed_units' |
         awk '{s += $2} END {print s + 0}' || true)
  if [ "$jobs" -gt 1 ]; then cat "$build"/fuzz-*.log >>"$log" 2>/dev/null || true; fi
  rm -f "$build"/fuzz-*.log
  total=$((total + runs))
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: $t FAILED after $runs inputs; see $log and $crashes" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  if [ "$runs" -le 0 ]; then
    echo "fuzz.sh: $t ran no input; see $log" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  echo "fuzz.sh: $t: $runs inputs in ${seconds}s, no crash ($(find "$corpus" -type f | wc -l) in corpus)"
done
echo "fuzz.sh: ${#targets[@]} targets, $total inputs fuzzed, no crash"
