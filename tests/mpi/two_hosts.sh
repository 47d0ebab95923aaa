#!/usr/bin/env bash
# An MPI one-sided program on two hosts as mpirun sees them: this one
# (localhost) and 127.0.0.2, which Open MPI takes for another host (no
# interface has that address) and reaches through tests/mpi/ssh_standin.sh,
# so the ranks there start with a clean environment as on a real second host.
# Both are this machine, so the far ranks can use veshm too, if their
# environment says so: this checks that veshm-mpi-env.sh forwards what it
# sets (OMPI_MCA_mca_base_env_list).
#   two_hosts.sh forward|no-forward SOURCE_DIR PROGRAM DMA_COUNTER
# forward:    source contrib/mpi/veshm-mpi-env.sh veshm; 4 ranks, 2 per host;
#             passes when the program succeeds (its data is right), the
#             stand-in started the far host's daemon, and every rank moved its
#             put by VE DMA (DMA_COUNTER preloaded into the ranks; the test's
#             own VESHM_RANK_PRELOAD is forwarded through the same list, which
#             the script must keep).
# no-forward: the same with the list removed after sourcing: the far ranks
#             lack the module and the counter; the check must fail.
set -euo pipefail
mode=${1:?usage: two_hosts.sh forward|no-forward SOURCE_DIR PROGRAM DMA_COUNTER}
src=${2:?} program=${3:?} counter=${4:?}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d /tmp/veshm-two-hosts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

export VESHM_RANK_PRELOAD=$counter
export OMPI_MCA_mca_base_env_list=VESHM_RANK_PRELOAD
# shellcheck source=../../contrib/mpi/veshm-mpi-env.sh
. "$src/contrib/mpi/veshm-mpi-env.sh" veshm
echo "two_hosts: OMPI_MCA_mca_base_env_list=${OMPI_MCA_mca_base_env_list:-}"
[ "$mode" = forward ] || unset OMPI_MCA_mca_base_env_list
export VESHM_SSH_STANDIN_LOG=$tmp/standin.log

set +e
# btl self,tcp: the two "hosts" are one machine with one host name, where
# btl/vader of the pml (ob1) would give the ranks of equal local rank on both
# the same shared-memory segment (its name has host name, job and local rank)
# and crash; on real hosts vader is fine. One-sided traffic is osc/ucx's.
out=$(mpirun --oversubscribe --host localhost:2,127.0.0.2:2 -np 4 \
  --mca plm_rsh_agent "$here/ssh_standin.sh" --mca btl self,tcp "$program" 2>&1)
rc=$?
set -e
echo "$out"
fail() {
  echo "two_hosts: FAIL: $*"
  exit 1
}
[ $rc -eq 0 ] || fail "mpirun exited with $rc"
[ -s "$tmp/standin.log" ] || fail "the second host was not reached through the ssh stand-in"
sed 's/^/two_hosts: /' "$tmp/standin.log" | cut -c1-160
# "dma_count: pid P posts N bytes B put U get G": G (field 11) is get DMA.
# hello_rma's 4-byte put is a store through the PCI window (put_short), its
# 4-byte get a VE DMA: the get shows that veshm carried the rank's RMA.
n=$(awk '/^dma_count: pid [0-9]+ posts [0-9]+ bytes [0-9]+ put [0-9]+ get [0-9]+$/ && $11 >= 4 { n++ } END { print n + 0 }' <<<"$out")
echo "two_hosts: $n of 4 ranks moved their get by VE DMA"
[ "$n" -ge 4 ] || fail "the far host's ranks did not use veshm"
echo "two_hosts: OK"
