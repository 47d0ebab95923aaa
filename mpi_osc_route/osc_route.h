/* Open MPI one-sided routing for veshm (libveshm_osc_route.so, preloaded into
 * every rank by veshm-rank in the veshm and ucx modes of veshm-mpi-env.sh).
 *
 * Open MPI 4.1.4 gives each window to the osc component whose query answers
 * the highest priority, one priority per component whatever the window. The
 * windows veshm carries (VE memory) must go to osc/ucx; every other window
 * must stay on the default path (osc/rdma, osc/sm), where Open MPI is
 * correct: osc/ucx 4.1.4 crashes on dynamic windows and is wrong on some
 * atomics. This library wraps the MPI window constructors (PMPI profiling
 * interface) and sets osc/ucx's priority for the one call. On one host it
 * also carries the osc/ucx windows' synchronization and simple operations
 * itself (direct_win.h), and shares the large puts and gets of windows over
 * host memory with their targets (host_win.h). It links no MPI
 * library: in a program without MPI nothing calls it and nothing of it is
 * resolved (osc_route_weak.h). */
#ifndef VESHM_OSC_ROUTE_H
#define VESHM_OSC_ROUTE_H

#include <mpi.h>
#include <stddef.h>

/* Where a window goes. */
enum osc_route {
    OSC_ROUTE_UCX,     /* osc/ucx (osc/sm still takes shared windows) */
    OSC_ROUTE_DEFAULT, /* Open MPI's own choice without osc/ucx: osc/rdma, osc/sm */
};

/* VESHM_OSC_ROUTE: "auto" (default: VE memory to osc/ucx, the rest to the
 * default path), "ucx" (every window but shared ones to osc/ucx, as with
 * OMPI_MCA_osc=ucx), "default" (no window to osc/ucx), "off" (this library
 * does nothing: Open MPI's MCA priorities choose, no operation is rerouted;
 * for comparisons). */
enum osc_route_policy { OSC_POLICY_AUTO, OSC_POLICY_UCX, OSC_POLICY_DEFAULT, OSC_POLICY_OFF };
enum osc_route_policy osc_route_policy(void);

/* Makes the next window constructor of this process choose by route (takes
 * a process-wide lock until osc_route_end). */
void osc_route_begin(enum osc_route route);
void osc_route_end(void);

/* Remembers that win is on osc/ucx / tells whether it is. */
void osc_route_mark_ucx(MPI_Win win);
int osc_route_is_ucx(MPI_Win win);

/* PMPI_Fetch_and_op, or on osc/ucx windows what osc/ucx 4.1.4 gets right
 * for the datatype and op (ucx_atomics.c). */
int osc_route_fetch_and_op(const void *origin_addr, void *result_addr, MPI_Datatype datatype,
                           int target_rank, MPI_Aint target_disp, MPI_Op op, MPI_Win win);

/* A function of the process by name (libveo and veshm come with the veshm
 * UCX module, libopen-pal with libmpi), NULL in a process without it. ISO C
 * has no object-to-function pointer conversion: callers copy the result into
 * a function pointer (POSIX guarantees that the representations agree). */
void *osc_route_symbol(const char *name);

/* HMEM address of the VE memory at host address p (the veshm module's libveo
 * is loaded and knows p), else NULL. */
void *osc_route_hmem_of(const void *p);

/* 1 when p is host-mapped VE memory, else 0. */
int osc_route_is_ve_memory(const void *p);

/* VESHM_OSC_DIRECT: the same-host paths (direct_win.h, host_win.h) are on
 * unless it is "0". */
int osc_route_direct_enabled(void);

/* VESHM_OSC_HELP: a rank shares its large transfers with their targets and
 * helps its origins with theirs (direct_help.c, host_win.c) unless it is
 * "0"; then each of its operations is copied by itself alone, or left to
 * osc/rdma where alone that is faster (host_win.c). Read once. */
int osc_route_help_enabled(void);

/* Whether every rank of comm runs on this host (collective when the job
 * does; 0 at once when it spans hosts). */
int osc_route_one_host(MPI_Comm comm);

/* Bytes moved when both sides are count elements of the same predefined
 * datatype (its elements back to back), else 0 (direct_rma.c). */
size_t osc_route_same_layout(MPI_Datatype a, int acount, MPI_Datatype b, int bcount);

#endif
