# shellcheck shell=bash
# Busy cores for benchmarks (--busy): one spinning process per core at normal
# priority beside what is measured, as on a node whose cores all compute.
# Source it; busy_start starts them, busy_stop (also fine in an EXIT trap)
# ends them.
busy_pids=()
busy_start() {
  local c
  for ((c = 0; c < $(nproc); c++)); do
    bash -c 'while :; do :; done' &
    busy_pids+=($!)
  done
}
busy_stop() {
  local p
  for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  busy_pids=()
}
