#!/usr/bin/env bash
# Stands in for ssh as Open MPI's launch agent (plm_rsh_agent) to reach a
# second "host" that is this machine: runs the remote command here, as ssh
# would run it there, with a clean environment (only PATH and HOME), so only
# what mpirun forwards explicitly reaches the far ranks. Each use is logged
# to $VESHM_SSH_STANDIN_LOG, so a test can tell that it was used.
#   ssh_standin.sh [ssh options] HOST COMMAND...
set -euo pipefail
while [[ ${1:-} == -* ]]; do
  shift
done
host=${1:?usage: ssh_standin.sh [options] HOST COMMAND...}
shift
[ -z "${VESHM_SSH_STANDIN_LOG:-}" ] || echo "ssh_standin: $host: $*" >>"$VESHM_SSH_STANDIN_LOG"
exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/}" bash -c "$*"
