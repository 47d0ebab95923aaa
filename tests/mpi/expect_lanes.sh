#!/usr/bin/env bash
# Proof of which UCX transport carried one-sided traffic:
#   expect_lanes.sh veshm|no-veshm|no-ucp COMMAND...
# Runs COMMAND (an mpirun/oshrun line) with UCX_LOG_LEVEL=info, which makes
# UCP 1.13 print every endpoint configuration it creates, e.g.
#   ucp_worker.c:1763 UCX INFO ep_cfg[1]: rma(veshm/ve1 sysv/memory) amo(veshm/ve1)
# rma(...) lists the RMA lanes, amo(...) the atomic lanes.
# veshm:    COMMAND must succeed and every process that created an endpoint
#           with RMA lanes must have one whose RMA lanes include veshm.
# no-veshm: the same check must find no veshm lane (the control: the check
#           fails as soon as the traffic goes elsewhere).
# no-ucp:   COMMAND must succeed and no process may have created an endpoint
#           with RMA lanes: the one-sided traffic did not go through UCX at
#           all (windows routed to Open MPI's default path). Its control runs
#           the same command with the windows on osc/ucx and must see them.
set -uo pipefail
expect=${1:?usage: expect_lanes.sh veshm|no-veshm|no-ucp COMMAND...}
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
UCX_LOG_LEVEL=info "$@" >"$log" 2>&1
rc=$?
grep -v ' UCX  INFO \| UCX  DIAG ' "$log"
echo "--- endpoint configurations (UCX_LOG_LEVEL=info) ---"
grep -E 'ep_cfg\[[0-9]+\]: .*rma\(' "$log" | sed -E 's/^.*\[([a-z0-9.-]+):([0-9]+)[ :][^]]*\].*(ep_cfg.*)$/pid \2: \3/'
if [ $rc -ne 0 ]; then
  echo "expect_lanes: command failed with status $rc"
  exit 1
fi
pids=$(grep -E 'ep_cfg\[[0-9]+\]: .*rma\(' "$log" | sed -E 's/^[^[]*\[[^]]*\] *\[[a-z0-9.-]+:([0-9]+).*/\1/' | sort -u)
with=$(grep -E 'ep_cfg\[[0-9]+\]: .*rma\([^)]*veshm/' "$log" | sed -E 's/^[^[]*\[[^]]*\] *\[[a-z0-9.-]+:([0-9]+).*/\1/' | sort -u)
npids=$(echo "$pids" | grep -c . || true)
nwith=$(echo "$with" | grep -c . || true)
echo "expect_lanes: $npids processes created RMA endpoints, $nwith of them with veshm RMA lanes"
if [ "$expect" = no-ucp ]; then
  [ "$npids" -eq 0 ] || { echo "expect_lanes: FAIL: RMA endpoints found"; exit 1; }
  echo "expect_lanes: OK ($expect)"
  exit 0
fi
if [ "$npids" -eq 0 ]; then
  echo "expect_lanes: no endpoint configuration printed (is UCX_LOG_LEVEL honoured?)"
  exit 1
fi
case "$expect" in
veshm) [ "$nwith" -eq "$npids" ] || { echo "expect_lanes: FAIL: RMA not over veshm"; exit 1; } ;;
no-veshm) [ "$nwith" -eq 0 ] || { echo "expect_lanes: FAIL: veshm lanes found"; exit 1; } ;;
*) echo "expect_lanes: expect veshm, no-veshm or no-ucp" >&2; exit 2 ;;
esac
echo "expect_lanes: OK ($expect)"
