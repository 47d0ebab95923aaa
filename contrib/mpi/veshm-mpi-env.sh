# shellcheck shell=bash
# Environment for running Open MPI (mpirun) and OpenSHMEM (oshrun) programs
# over the veshm UCX transport. Source it, then run mpirun/oshrun as usual:
#
#   . contrib/mpi/veshm-mpi-env.sh [veshm|ucx|default]
#   mpirun -np 4 --oversubscribe ./my_mpi_program
#   oshrun -np 4 --oversubscribe ./my_shmem_program
#
# Modes:
#   veshm    (default) Open MPI's UCX components (pml, osc, spml) over UCX with
#            the veshm transport loaded: window memory of MPI_Win_allocate and
#            the OpenSHMEM symmetric heap are VE memory, one-sided traffic to
#            them is VE DMA; each rank runs on its own emulated VE node.
#   ucx      the same Open MPI components over UCX's own shared-memory
#            transports (posix, sysv, cma), veshm not loaded.
#   default  Open MPI exactly as Debian configures it (pml ob1, osc rdma,
#            btl vader): the baseline for MPI. Not for oshrun (see below).
#
# Inputs (optional):
#   VESHM_UCX_MODULE path of libuct_veshm.so (default: found as below)
#   VESHM_BUILD_DIR  build tree holding ucx_tl_veshm/libuct_veshm.so
#                    (default: build/ in the repository; an installed module
#                    under the UCX module directory is used if none is there)
#   VESHM_MPI_TLS    UCX_TLS of veshm mode (default veshm,sm,self); the
#                    tests' controls set sm,self: everything of veshm mode but
#                    the transport carrying the traffic
#
# Why each setting:
# * Debian's /etc/openmpi/openmpi-mca-params.conf disables pml/ucx and
#   osc/ucx (pml = ^ucx, osc = ^ucx,pt2pt); environment variables override
#   that file, so OMPI_MCA_pml/osc=ucx turn them back on.
# * opal_common_ucx_tls/devices = any: by default the UCX components only
#   select themselves when UCX offers an InfiniBand device (mlx*).
# * OMPI_MCA_osc=ucx also avoids the known crash of oshrun with Debian's
#   defaults: shmem_finalize segfaults in osc/rdma's finalize (a memory
#   release hook left behind by btl/uct). With osc=ucx, osc/rdma is never
#   opened. (--mca btl ^uct works too but depends on the BTL list: with
#   Debian's btl = ^uct,openib,ofi given explicitly, 4 PEs still crash.)
# * UCX_TLS=veshm,sm,self: veshm carries RMA and atomics to VE memory;
#   posix/sysv/cma (sm) carry active messages, tag matching and RMA to host
#   memory (MPI_Win_create / MPI_Win_create_dynamic windows, static data).
# * UCX_ALLOC_PRIO with md:veshm first: UCP allocates the memory of
#   MPI_Win_allocate (osc/ucx) and the symmetric heap (sshmem/ucx) with the
#   first memory domain in this list that can, so they become VE memory.
# * mpi_yield_when_idle=1: the emulated DMA engine of a rank bound to one core
#   runs on the other cores (core/dma_engine.hpp), where the other ranks are;
#   a rank that waits in MPI gives its core to that engine instead of
#   spinning it away. (The default path gains nothing from it: the origin
#   copies alone; measured with contrib/bench/mpi.)
# * orte_fork_agent: mpirun/oshrun start every rank through
#   contrib/mpi/veshm-rank, which preloads the transport into the rank only
#   (not into mpirun itself) and picks the rank's VE node from its local rank.

_veshm_mpi_mode=${1:-veshm}
_veshm_mpi_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_veshm_root=$(cd "$_veshm_mpi_dir/../.." && pwd)

# Start from a clean slate so that switching modes in one shell works.
_veshm_module=${VESHM_UCX_MODULE:-}
unset OMPI_MCA_pml OMPI_MCA_osc OMPI_MCA_spml OMPI_MCA_opal_common_ucx_tls \
  OMPI_MCA_opal_common_ucx_devices OMPI_MCA_orte_fork_agent OMPI_MCA_mpi_yield_when_idle \
  UCX_TLS UCX_ALLOC_PRIO \
  VESHM_UCX_MODULE

case "$_veshm_mpi_mode" in
veshm | ucx)
  export OMPI_MCA_pml=ucx
  export OMPI_MCA_osc=ucx
  export OMPI_MCA_spml=ucx
  export OMPI_MCA_opal_common_ucx_tls=any
  export OMPI_MCA_opal_common_ucx_devices=any
  ;;
default) ;;
*)
  echo "veshm-mpi-env.sh: unknown mode '$_veshm_mpi_mode' (veshm, ucx or default)" >&2
  return 1 2>/dev/null || exit 1
  ;;
esac

if [ "$_veshm_mpi_mode" = veshm ]; then
  _veshm_build=${VESHM_BUILD_DIR:-$_veshm_root/build}
  VESHM_UCX_MODULE=""
  for _m in "$_veshm_module" "$_veshm_build/ucx_tl_veshm/libuct_veshm.so" \
    /usr/lib/x86_64-linux-gnu/ucx/libuct_veshm.so /usr/local/lib/ucx/libuct_veshm.so; do
    if [ -n "$_m" ] && [ -f "$_m" ]; then
      VESHM_UCX_MODULE=$_m
      break
    fi
  done
  if [ -z "$VESHM_UCX_MODULE" ]; then
    echo "veshm-mpi-env.sh: libuct_veshm.so not found (build it, or set VESHM_BUILD_DIR)" >&2
    return 1 2>/dev/null || exit 1
  fi
  export VESHM_UCX_MODULE
  export UCX_TLS=${VESHM_MPI_TLS:-veshm,sm,self}
  export UCX_ALLOC_PRIO=md:veshm,md:sysv,md:posix,huge,thp,md:*,mmap,heap
  export OMPI_MCA_orte_fork_agent=$_veshm_mpi_dir/veshm-rank
  export OMPI_MCA_mpi_yield_when_idle=1
fi
unset _veshm_mpi_mode _veshm_mpi_dir _veshm_root _veshm_build _veshm_module _m
