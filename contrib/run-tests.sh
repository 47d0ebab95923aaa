#!/usr/bin/env bash
# README command 2 (and CI's): sets everything up on a fresh Debian 12 machine,
# builds with warnings as errors, checks the formatting of every tracked C/C++
# file and runs the whole test suite with CTest, then again under sanitizers
# (contrib/run-sanitizers.sh) and a short fuzzing run (contrib/fuzz.sh).
# Exit status 0 only if all of it passed. The build requires every part
# (-DVESHM_REQUIRE_ALL=ON): a missing UCX, Open MPI or OpenSHMEM fails the
# configuration instead of leaving their suites out, and CTest fails when it
# finds no tests.
#   VESHM_BUILD_DIR  build directory (default build/ in the repository)
#   VESHM_JOBS       parallel compile jobs and tests (default 2)
#   VESHM_TEST_TIMEOUT  default per-test timeout in seconds (default 300)
#   VESHM_SANITIZERS    0: skip the ASan/UBSan and TSan runs (default 1)
#   VESHM_FUZZ_SECONDS  seconds of fuzzing per target, 0 skips (default 10)
#   VESHM_MUTATE        1: also run contrib/mutate.sh (every deliberate
#                       breakage must be caught; long, default 0)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VESHM_BUILD_DIR:-$root/build}
jobs=${VESHM_JOBS:-2}
cd "$root"

# Open MPI refuses to run as root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

bash "$root/contrib/install-deps.sh"

echo "run-tests: clang-format check"
patterns=('*.c' '*.h' '*.cc' '*.cpp' '*.hpp')
if list=$(git -C "$root" ls-files -- "${patterns[@]}" 2>/dev/null); then
  mapfile -t sources <<<"$list"
else # not a git checkout (or git refuses it): every such file outside build trees
  mapfile -t sources < <(find . -path './build*' -prune -o -path '*/.*' -prune -o -path ./_deps -prune -o \
    \( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.cpp' -o -name '*.hpp' \) -print)
fi
unformatted=()
for f in "${sources[@]}"; do
  [ -f "$f" ] || continue
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -ne 0 ]; then
  echo "run-tests: not formatted with clang-format (run clang-format -i on them):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "run-tests: ${#sources[@]} files formatted"

bash "$root/contrib/build.sh" "$build" -DVESHM_WERROR=ON -DVESHM_REQUIRE_ALL=ON

echo "run-tests: ctest -j $jobs"
status=0
(cd "$build" && ctest --output-on-failure --no-tests=error -j "$jobs" \
  --timeout "${VESHM_TEST_TIMEOUT:-300}") || status=1

# The same suite under ASan+UBSan, the multi-threaded tests under TSan, and a
# short libFuzzer run of every decoder (README "Tests"). VESHM_SANITIZERS=0
# and VESHM_FUZZ_SECONDS=0 skip them.
if [ "${VESHM_SANITIZERS:-1}" != 0 ]; then
  echo "run-tests: sanitizers"
  SANITIZE_JOBS=$jobs bash "$root/contrib/run-sanitizers.sh" || status=1
fi
if [ "${VESHM_FUZZ_SECONDS:-10}" != 0 ]; then
  echo "run-tests: fuzzing, ${VESHM_FUZZ_SECONDS:-10} s per target"
  bash "$root/contrib/fuzz.sh" "${VESHM_FUZZ_SECONDS:-10}" || status=1
fi
if [ "${VESHM_MUTATE:-0}" = 1 ]; then
  echo "run-tests: mutation check"
  bash "$root/contrib/mutate.sh" || status=1
fi
[ "$status" -eq 0 ] && echo "run-tests: all passed" || echo "run-tests: FAILED" >&2
exit "$status"
