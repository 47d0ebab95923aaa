# shellcheck shell=bash
# Environment for running Open MPI (mpirun) and OpenSHMEM (oshrun) programs
# over the veshm UCX transport. Source it, then run mpirun/oshrun as usual:
#
#   . contrib/mpi/veshm-mpi-env.sh [veshm|ucx|default|mpich]
#   mpirun -np 4 --oversubscribe ./my_mpi_program
#   oshrun -np 4 --oversubscribe ./my_shmem_program
#   mpirun.mpich -np 4 "$VESHM_RANK" ./my_mpich_program     (mode mpich)
#
# Modes:
#   veshm    (default) Open MPI's UCX one-sided components (osc/ucx, spml/ucx)
#            over UCX with the veshm transport loaded: window memory of
#            MPI_Win_allocate and the OpenSHMEM symmetric heap are VE memory,
#            one-sided traffic to them is VE DMA; each rank runs on its own
#            emulated VE node. Everything veshm does not carry stays on Open
#            MPI's default path: two-sided traffic (pml ob1), shared windows
#            (osc/sm), windows on host memory (osc/rdma, see below).
#   ucx      the same Open MPI components over UCX's own shared-memory
#            transports (posix, sysv, cma), veshm not loaded.
#   default  Open MPI exactly as Debian configures it (pml ob1, osc rdma,
#            btl vader): the baseline for MPI. Not for oshrun (see below).
#   mpich    Debian's MPICH 4.0.2 (ch4:ucx, mpirun.mpich) over UCX with the
#            veshm transport loaded. MPICH's mpirun has no per-rank hook, so
#            the rank launcher goes in front of the program: "$VESHM_RANK".
#            One-sided traffic goes over veshm for windows on VE memory the
#            program provides (MPI_Win_create); MPICH allocates the memory of
#            MPI_Win_allocate itself, as host memory (README "MPICH").
#
# Installed (cmake --install, the .deb) it is share/veshm/veshm-mpi-env.sh:
#   . /usr/share/veshm/veshm-mpi-env.sh
#
# Inputs (optional):
#   VESHM_NET_TLS    UCX transport(s) for ranks on other hosts (default tcp;
#                    e.g. rc_x or dc_x where InfiniBand is present; empty for
#                    jobs on one host only). See README "Many hosts".
#   VESHM_UCX_MODULE path of libuct_veshm.so (default: found as below)
#   VESHM_BUILD_DIR  build tree holding ucx_tl_veshm/libuct_veshm.so
#                    (default: the installation's own module when this is the
#                    installed script, else build/ in the repository; then
#                    the UCX module directories of /usr and /usr/local)
#   VESHM_MPI_TLS    UCX_TLS of veshm mode before the network transport
#                    (default veshm,posix,self; mode mpich veshm,sm,self);
#                    the tests' controls set posix,self: everything of
#                    veshm mode but the transport carrying the traffic
#
# Why each setting:
# * Debian's /etc/openmpi/openmpi-mca-params.conf disables pml/ucx and
#   osc/ucx (pml = ^ucx, osc = ^ucx,pt2pt); environment variables override
#   that file. The pml stays Debian's (ob1 over btl/vader), Open MPI's
#   fastest path for two-sided traffic on one host (its single-copy CMA beats
#   veshm's two-copy rendezvous from 256 KiB to 4 MiB: contrib/bench/
#   ucx-two-sided); osc/ucx and spml/ucx open UCP contexts of their own and
#   need no pml/ucx. OMPI_MCA_pml=ucx, set after sourcing this script, sends
#   two-sided traffic over UCP too, so over veshm's active messages and DMA
#   (tests/mpi mpi.two_sided.*).
# * OMPI_MCA_osc=sm,ucx,rdma: Open MPI gives each window to the component
#   whose query answers the highest priority (Open MPI 4.1.4: osc/sm 100 for
#   shared windows and for allocate windows of ranks on one host; osc/rdma
#   101 for any but shared windows; osc/ucx OMPI_MCA_osc_ucx_priority,
#   default 60, for any but shared windows). Without osc/sm,
#   MPI_Win_allocate_shared fails (osc/ucx refuses shared windows).
# * VESHM_OSC_ROUTE_LIB (libveshm_osc_route.so, mpi_osc_route/), preloaded
#   into every rank by veshm-rank: sets osc/ucx's priority for each window
#   constructor call, so that windows on VE memory (MPI_Win_allocate, and
#   MPI_Win_create on VE memory) go to osc/ucx and all others to the default
#   path (osc/rdma, osc/sm), and routes the MPI_Fetch_and_op calls osc/ucx
#   4.1.4 gets wrong through MPI_Get_accumulate (docs/MPI_ROUTING.md).
#   VESHM_OSC_ROUTE=ucx|default overrides the choice (all to osc/ucx, or none).
# * opal_common_ucx_tls/devices = any: by default the UCX components only
#   select themselves when UCX offers an InfiniBand device (mlx*).
# * oshrun: with spml/ucx, an OpenSHMEM program segfaults at exit whenever
#   osc/rdma is opened without osc/ucx (Debian's osc list, or osc=sm,rdma:
#   every run of hello_shmem, 2 PEs); with osc/ucx among the components, as
#   here, it does not (osc=sm,ucx,rdma, ucx,rdma, sm,ucx: no run crashed).
# * UCX_TLS=veshm,posix,self,tcp: veshm carries RMA and atomics to VE
#   memory; posix carries active messages and RMA to host memory
#   (MPI_Win_create / MPI_Win_create_dynamic windows, static data); both
#   reach ranks on the same host only. Not sysv and cma (all of UCX's sm):
#   sysv does what posix does, and cma carries no RMA lane of the contexts
#   spml/ucx and osc/ucx open (RMA and atomics only; two-sided traffic is
#   ob1's), but every interface of a worker is flushed by every
#   shmem_quiet and MPI_Win_flush: OpenSHMEM 8-byte putmem + quiet took
#   0.0270 us with them, 0.0245 without (UCX's default set 0.0255). Mode
#   mpich keeps sm: MPICH sends two-sided traffic through UCP, whose
#   rendezvous uses cma. The network transport ($VESHM_NET_TLS) carries
#   everything between hosts: without one, UCP has no transport to a rank on
#   another host ("Destination is unreachable").
# * OMPI_MCA_mca_base_env_list: mpirun hands the ranks it starts on other
#   hosts (through ssh, with a clean environment) only the OMPI_MCA_*
#   variables of its environment, and the variables this list names. Listed
#   here: every other variable this script sets (UCX_TLS, UCX_ALLOC_PRIO,
#   VESHM_UCX_MODULE), so far ranks use veshm and the network like near ones.
#   Entries already in the list stay; the script's own are replaced when it
#   is sourced again. The paths (module, launcher) must be the same on every
#   host: the same install prefix, or the .deb everywhere.
# * UCX_ALLOC_PRIO with md:veshm first: UCP allocates the memory of
#   MPI_Win_allocate (osc/ucx) and the symmetric heap (sshmem/ucx) with the
#   first memory domain in this list that can, so they become VE memory.
# * UCX_ZCOPY_THRESH=131073 (mode veshm): UCP 1.13 registers the local
#   buffer of every put from its zcopy threshold on (16 KiB, or the
#   transport's smallest zcopy: 32 KiB + 1 for veshm, which UCX's own suite
#   wants below 64 KiB), and then sends puts of up to veshm's largest
#   put_short (128 KiB, UCX_VESHM_MAX_SHORT) as put_short all the same: a
#   registration and its release for nothing. From 128 KiB + 1 on, UCP
#   registers only for a zcopy (OpenSHMEM putmem of 64 KiB + quiet 1.49 ->
#   1.44 us, getmem of 96-128 KiB 2.5% faster; UCX posix 1.44). Two-sided
#   traffic is ob1's here, so the other thresholds it moves (UCP's eager
#   zcopy) carry nothing; mode mpich, whose two-sided traffic is UCP's, keeps
#   UCP's own.
# * No mpi_yield_when_idle: a rank that yields inside a collective (e.g. the
#   allgather of MPI_Win_create) on a busy machine loses its turn for long
#   enough that MPICH's RMA suite timed out 27 runs; Open MPI's default
#   (no yield unless oversubscribed, which mpirun detects) is kept.
# * Mode mpich: MPIR_CVAR_NOLOCAL=1 makes MPICH send everything, ranks of
#   the same host included, through UCX (so through veshm and UCX's sm),
#   instead of its own shared-memory module, which also gave wrong results
#   for contrib/examples/hello_rma.c (MPICH 4.0.2, with or without veshm).
#   Hydra (mpirun.mpich) hands its whole environment to every rank, on other
#   hosts too, so nothing needs a forwarding list.
# * orte_fork_agent: mpirun/oshrun start every rank through veshm-rank
#   (contrib/mpi/, installed in libexec/veo/), which preloads the transport into the rank only
#   (not into mpirun itself) and picks the rank's VE node from its local rank.

_veshm_mpi_mode=${1:-veshm}
_veshm_mpi_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_veshm_root=$(cd "$_veshm_mpi_dir/../.." && pwd)
# Where the per-rank launcher, the installation's own UCX module and osc
# routing library are,
# relative to this script's directory. These are the source tree's values; the
# installed copy (share/veshm/) has the three lines rewritten for its prefix
# (cmake/InstallMpiScripts.cmake), so an installation needs no source tree.
_veshm_rank_rel=veshm-rank
_veshm_module_rel=
_veshm_route_rel=

# Variables other than OMPI_MCA_* this script may set: they must reach ranks
# on other hosts through OMPI_MCA_mca_base_env_list.
_veshm_forward="UCX_TLS UCX_ALLOC_PRIO UCX_ZCOPY_THRESH VESHM_UCX_MODULE VESHM_OSC_ROUTE_LIB"

# Start from a clean slate so that switching modes in one shell works.
_veshm_module=${VESHM_UCX_MODULE:-}
_veshm_route=${VESHM_OSC_ROUTE_LIB:-}
unset OMPI_MCA_osc OMPI_MCA_spml OMPI_MCA_opal_common_ucx_tls \
  OMPI_MCA_opal_common_ucx_devices OMPI_MCA_orte_fork_agent \
  UCX_TLS UCX_ALLOC_PRIO UCX_ZCOPY_THRESH MPIR_CVAR_NOLOCAL \
  VESHM_UCX_MODULE VESHM_OSC_ROUTE_LIB VESHM_RANK
# The forwarding list without this script's entries (Open MPI separates
# entries with ';'); the user's own stay.
_veshm_list=""
IFS=';' read -r -a _veshm_entries <<<"${OMPI_MCA_mca_base_env_list:-}"
for _e in "${_veshm_entries[@]}"; do
  case " $_veshm_forward " in
  *" $_e "*) ;;
  *) [ -z "$_e" ] || _veshm_list=${_veshm_list:+$_veshm_list;}$_e ;;
  esac
done
if [ -n "$_veshm_list" ]; then
  export OMPI_MCA_mca_base_env_list=$_veshm_list
else
  unset OMPI_MCA_mca_base_env_list
fi

# The absolute path of the first of its arguments that is a file (empty
# arguments skipped); fails if none is.
_veshm_first_file() {
  local f
  for f in "$@"; do
    if [ -n "$f" ] && [ -f "$f" ]; then
      echo "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
      return 0
    fi
  done
  return 1
}

case "$_veshm_mpi_mode" in
veshm | ucx)
  export OMPI_MCA_osc=sm,ucx,rdma
  export OMPI_MCA_spml=ucx
  export OMPI_MCA_opal_common_ucx_tls=any
  export OMPI_MCA_opal_common_ucx_devices=any
  ;;
default) ;;
mpich)
  export MPIR_CVAR_NOLOCAL=1
  ;;
*)
  echo "veshm-mpi-env.sh: unknown mode '$_veshm_mpi_mode' (veshm, ucx, default or mpich)" >&2
  return 1 2>/dev/null || exit 1
  ;;
esac

if [ "$_veshm_mpi_mode" = veshm ] || [ "$_veshm_mpi_mode" = mpich ]; then
  # An explicit module or build tree first, then this installation's module,
  # then build/ of the source tree, then the usual UCX module directories.
  VESHM_UCX_MODULE=$(_veshm_first_file "$_veshm_module" \
    "${VESHM_BUILD_DIR:+$VESHM_BUILD_DIR/ucx_tl_veshm/libuct_veshm.so}" \
    "${_veshm_module_rel:+$_veshm_mpi_dir/$_veshm_module_rel}" \
    "$_veshm_root/build/ucx_tl_veshm/libuct_veshm.so" \
    /usr/lib/x86_64-linux-gnu/ucx/libuct_veshm.so /usr/local/lib/ucx/libuct_veshm.so) || {
    echo "veshm-mpi-env.sh: libuct_veshm.so not found (build it, or set VESHM_BUILD_DIR)" >&2
    return 1 2>/dev/null || exit 1
  }
  export VESHM_UCX_MODULE
  _veshm_net=${VESHM_NET_TLS-tcp}
  _veshm_local=veshm,posix,self
  if [ "$_veshm_mpi_mode" = mpich ]; then
    _veshm_local=veshm,sm,self
  fi
  export UCX_TLS=${VESHM_MPI_TLS:-$_veshm_local}${_veshm_net:+,$_veshm_net}
  export UCX_ALLOC_PRIO="md:veshm,md:sysv,md:posix,huge,thp,md:*,mmap,heap"
  if [ "$_veshm_mpi_mode" = veshm ]; then
    export UCX_ZCOPY_THRESH=131073
  fi
fi
_veshm_rank=$(cd "$(dirname "$_veshm_mpi_dir/$_veshm_rank_rel")" && pwd)/veshm-rank
if [ "$_veshm_mpi_mode" = mpich ]; then
  export VESHM_RANK=$_veshm_rank
elif [ "$_veshm_mpi_mode" = veshm ] || [ "$_veshm_mpi_mode" = ucx ]; then
  # The osc routing library, searched like the module.
  VESHM_OSC_ROUTE_LIB=$(_veshm_first_file "$_veshm_route" \
    "${VESHM_BUILD_DIR:+$VESHM_BUILD_DIR/mpi_osc_route/libveshm_osc_route.so}" \
    "${_veshm_route_rel:+$_veshm_mpi_dir/$_veshm_route_rel}" \
    "$_veshm_root/build/mpi_osc_route/libveshm_osc_route.so" \
    /usr/libexec/veo/libveshm_osc_route.so /usr/local/libexec/veo/libveshm_osc_route.so) || {
    echo "veshm-mpi-env.sh: libveshm_osc_route.so not found (build it, or set VESHM_BUILD_DIR)" >&2
    return 1 2>/dev/null || exit 1
  }
  export VESHM_OSC_ROUTE_LIB
  export OMPI_MCA_orte_fork_agent=$_veshm_rank
  # Only what is set: mpirun warns of every listed variable it cannot find
  # (mode ucx sets no UCX_TLS and no module).
  for _e in $_veshm_forward; do
    [ -z "${!_e+set}" ] || _veshm_list=${_veshm_list:+$_veshm_list;}$_e
  done
  export OMPI_MCA_mca_base_env_list=$_veshm_list
fi
unset _veshm_mpi_mode _veshm_mpi_dir _veshm_root _veshm_module _veshm_route _veshm_rank_rel \
  _veshm_module_rel _veshm_route_rel _veshm_forward _veshm_list _veshm_entries _veshm_net \
  _veshm_rank _veshm_local _e
unset -f _veshm_first_file
