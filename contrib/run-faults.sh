#!/usr/bin/env bash
# The long fault-injection run (tests/faults): rounds in which the VESHM
# owner's or an attacher's VH process or VE process (veorun) is SIGKILLed at a
# random moment during open, attach, DMA, detach or close, each round checked
# for intact data, documented errors only, no hang and nothing left behind.
# CTest runs a short version (200 rounds, seed 1); this runs as many as asked.
#
#   contrib/run-faults.sh                 1000 rounds, a random seed (printed)
#   ROUNDS=5000 SEED=42 contrib/run-faults.sh
#
#   ROUNDS  rounds to run (default 1000)
#   SEED    seed of every random choice (default: random); the same seed
#           repeats the choices (victim, operation, delays), not the timing
#   VESHM_BUILD_DIR  build directory (default build/); built here if needed
# Exit status 0 only if every round survived; the last lines give the figures.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VESHM_BUILD_DIR:-$root/build}
rounds=${ROUNDS:-1000}
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DVESHM_WERROR=ON >/dev/null
fi
make -C "$build" -j"${VESHM_JOBS:-2}" --no-print-directory test_fault_injection fault_actor veorun \
  >"$build/run-faults.make.log" 2>&1 || { tail -30 "$build/run-faults.make.log" >&2; exit 1; }
echo "run-faults: $rounds rounds, seed $seed"
VESHM_FAULT_ROUNDS=$rounds VESHM_FAULT_SEED=$seed exec "$build/tests/faults/test_fault_injection"
