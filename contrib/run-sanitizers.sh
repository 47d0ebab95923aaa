#!/usr/bin/env bash
# Builds and runs the test suite under sanitizers, each in its own tree:
#   build-asan: AddressSanitizer + UndefinedBehaviorSanitizer (with leak
#               checks), every test except the MPI/OpenSHMEM ones (label mpi,
#               see below);
#   build-tsan: ThreadSanitizer, the multi-threaded tests: label threads (tests
#               that start threads themselves), core, exec and uct (the library
#               runs DMA copies on an engine thread and VE contexts on threads
#               of their own). UCX's memory hooks stay off there
#               (UCX_MEM_MMAP_HOOK_MODE=none): libucm patches madvise, which
#               glibc calls while a thread exits, after ThreadSanitizer has
#               dropped the thread's state, and TSan's interceptor crashes.
# contrib/run-tests.sh (CI) runs both after the release suite.
#
#   contrib/run-sanitizers.sh          both
#   contrib/run-sanitizers.sh asan     one of them (asan | tsan)
#
# The VE process helper (veorun) and the VE code it loads are built without
# ASan/TSan in these trees (veorun maps VE memory at 0x600000000000, which
# their runtimes reserve; see core/CMakeLists.txt) but keep UBSan. Any report
# fails the run: the sanitizers halt on the first error.
#
# Left out of the ASan run: tests that run uninstrumented programs with an
# instrumented library loaded into them, which ASan refuses ("ASan runtime
# does not come first in initial library list"): label mpi (mpirun starts Open
# MPI's own programs, orted/prted, and the ranks under them), label no-asan
# (for any test to opt out that way), and by name the UCX tests that run UCX's
# own tools (ucx_info, ucx_perftest) or a UCP program with the transport
# preloaded. The transport itself is covered by the other ucx-labelled tests,
# which do run under ASan.
#
# Environment:
#   SANITIZE_JOBS         parallel compile jobs and tests (default 2)
#   SANITIZE_CMAKE_ARGS   extra CMake options, e.g. "-DVESHM_BUILD_UCX=OFF"
#   SANITIZE_TEST_TIMEOUT default per-test timeout in seconds (default 600)
#   SANITIZE_ASAN_EXCLUDE       label regex left out of the ASan run (default mpi|no-asan)
#   SANITIZE_ASAN_EXCLUDE_TESTS test name regex left out of the ASan run (default:
#                               the UCX tool tests, see above)
#   SANITIZE_TSAN_LABELS        label regex of the TSan run (default threads|core|exec|uct)
#   SANITIZE_BUILD_ROOT   where build-asan and build-tsan go (default: the repository)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
which=${1:-all}
jobs=${SANITIZE_JOBS:-2}
timeout=${SANITIZE_TEST_TIMEOUT:-600}
builds=${SANITIZE_BUILD_ROOT:-$root}
read -r -a extra <<<"${SANITIZE_CMAKE_ARGS:-}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
# Open MPI refuses to run as root unless told (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

case $which in
  all | asan | tsan) ;;
  *) echo "usage: $0 [all|asan|tsan]" >&2; exit 2 ;;
esac

run() { # name sanitizer ctest-args...
  local name=$1 sanitizer=$2
  shift 2
  local build=$builds/build-$name start=$SECONDS
  echo "== $name: configure and build ($build)"
  mkdir -p "$build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVESHM_SANITIZE="$sanitizer" \
    -DVESHM_WERROR=ON -DVESHM_BUILD_BENCH=OFF "${extra[@]}" >"$build/cmake.log" 2>&1 ||
    { tail -30 "$build/cmake.log" >&2; echo "== $name: configure FAILED" >&2; return 1; }
  make -C "$build" -j"$jobs" --no-print-directory >"$build/make.log" 2>&1 ||
    { tail -40 "$build/make.log" >&2; echo "== $name: build FAILED" >&2; return 1; }
  echo "== $name: built in $((SECONDS - start)) s; test"
  local status=0
  (cd "$build" && ctest --output-on-failure --no-tests=error -j"$jobs" --timeout "$timeout" "$@") || status=1
  echo "== $name: $((SECONDS - start)) s in all"
  return $status
}

status=0
if [ "$which" = all ] || [ "$which" = asan ]; then
  run asan address -LE "${SANITIZE_ASAN_EXCLUDE:-mpi|no-asan}" \
    -E "${SANITIZE_ASAN_EXCLUDE_TESTS:-^(ucx[.]perftest[.]|ucx[.]ucp[.]|example[.]ucx_demo\$)}" || status=1
fi
if [ "$which" = all ] || [ "$which" = tsan ]; then
  UCX_MEM_MMAP_HOOK_MODE=none run tsan thread -L "${SANITIZE_TSAN_LABELS:-threads|core|exec|uct}" ||
    status=1
fi
if [ "$status" -ne 0 ]; then
  echo "run-sanitizers: FAILED" >&2
  exit 1
fi
echo "run-sanitizers: clean"
