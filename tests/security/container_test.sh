#!/usr/bin/env bash
# VESHM and the veshm UCX transport inside a container, and across its wall:
#   container_test.sh BUILD_DIR inside-veshm|inside-ucx|other-pid-namespace
# A "container" is a new PID + mount namespace (unshare), as Docker, Podman
# and CI runners make them; the network namespace is shared with the host.
# inside-*: two unrelated processes in one new namespace open, attach and
# move data by DMA (veshm_demo), or put/get through UCP over veshm
# (ucx_demo --require-veshm). other-pid-namespace: a VE process in a new PID
# namespace is not reachable from the host's: an attach from outside, by the
# pid it has inside or by the pid the host sees, gets ESRCH.
# Exits 77 (CTest: skipped) where namespaces cannot be made.
set -euo pipefail
build=$1
case_name=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if ! unshare --pid --mount --fork --mount-proc true 2>/dev/null; then
  echo "container_test: cannot create PID + mount namespaces here (needs root or user namespaces): skipped"
  exit 77
fi
in_container() { unshare --pid --mount --fork --mount-proc "$@"; }

case $case_name in
inside-veshm)
  in_container "$build/contrib/examples/veshm_demo"
  ;;
inside-ucx)
  in_container bash "$root/contrib/examples/ucx_demo.sh" "$build"
  ;;
other-pid-namespace)
  peer=$build/tests/core/veshm_peer
  dir=$(mktemp -d)
  trap 'exec 3>&- 4<&- 2>/dev/null; rm -rf "$dir"' EXIT
  mkfifo "$dir/in" "$dir/out"
  # The owner, in its own PID namespace, driven through two FIFOs.
  in_container "$peer" <"$dir/in" >"$dir/out" &
  exec 3>"$dir/in" 4<"$dir/out"
  ask() {
    echo "$1" >&3
    read -r -t 30 reply <&4
    echo "$reply"
  }
  read -r _ slot _ inner_pid _ <<<"$(ask "create 0")"
  read -r _ hmem <<<"$(ask "alloc $slot 0x4000000 0x4000000")"
  [ "$(ask "open $hmem 0x4000000 0x4")" = ok ] || { echo "open failed inside"; exit 1; }
  # The pid the host sees for that VE process: its NSpid line ends in inner_pid.
  outer_pid=""
  for status in /proc/[0-9]*/status; do
    if awk -v p="$inner_pid" '/^NSpid:/ && NF == 3 && $3 == p {found = 1} END {exit !found}' \
      "$status" 2>/dev/null && grep -q '^Name:.*veorun' "$status"; then
      outer_pid=$(awk '/^NSpid:/ {print $2}' "$status")
    fi
  done
  [ -n "$outer_pid" ] || { echo "the VE process (pid $inner_pid inside) is not visible outside"; exit 1; }
  echo "owner's VE process: pid $inner_pid inside its namespace, $outer_pid on the host"
  status=0
  for pid in "$inner_pid" "$outer_pid"; do
    got=$(printf 'create 1\nattach 0 %s %s 0x4000000 0x4004\n' "$pid" "$hmem" | "$peer" | tail -1)
    echo "attach from the host by pid $pid: $got"
    [ "$got" = "err 3" ] || status=1 # ESRCH
  done
  # Inside, the same area is attachable: the wall is the namespace, not a bug.
  read -r _ slot2 _ <<<"$(ask "create 1")"
  got=$(ask "attach $slot2 $inner_pid $hmem 0x4000000 0x4004")
  echo "attach inside by pid $inner_pid: $got"
  [ "${got%% *}" = ok ] || status=1
  echo "exit" >&3
  exit $status
  ;;
*)
  echo "usage: $0 BUILD_DIR inside-veshm|inside-ucx|other-pid-namespace" >&2
  exit 2
  ;;
esac
