/* MPI_Win_allocate, MPI_Win_create, MPI_Win_create_dynamic: each window to
 * osc/ucx or to Open MPI's default path (osc_route.h). MPI_Win_allocate_shared
 * is not wrapped: osc/ucx refuses shared windows, osc/sm takes them. */
#include "direct_win.h"
#include "host_win.h"
#include "osc_route.h"
#include "osc_route_weak.h"

/* Memory of MPI_Win_allocate comes from osc/ucx's UCP allocation, which is
 * VE memory in veshm mode (UCX_ALLOC_PRIO): veshm carries it. */
int MPI_Win_allocate(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm, void *baseptr,
                     MPI_Win *win) {
    enum osc_route_policy policy = osc_route_policy();
    if (policy == OSC_POLICY_OFF)
        return PMPI_Win_allocate(size, disp_unit, info, comm, baseptr, win);
    enum osc_route route = policy == OSC_POLICY_DEFAULT ? OSC_ROUTE_DEFAULT : OSC_ROUTE_UCX;
    osc_route_begin(route);
    int rc = PMPI_Win_allocate(size, disp_unit, info, comm, baseptr, win);
    osc_route_end();
    if (rc == MPI_SUCCESS && route == OSC_ROUTE_UCX) {
        osc_route_mark_ucx(*win);
        direct_win_setup(*win, comm, *(void **)baseptr, size, disp_unit);
    }
    return rc;
}

/* Memory the program gives: to osc/ucx when it is VE memory on any rank
 * (every rank must choose the same component, hence the allreduce; host
 * memory of the other ranks then goes over UCX's shared-memory transports),
 * else to the default path, which does everything on host memory that
 * osc/ucx does and more. */
int MPI_Win_create(void *base, MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm,
                   MPI_Win *win) {
    enum osc_route_policy policy = osc_route_policy();
    if (policy == OSC_POLICY_OFF)
        return PMPI_Win_create(base, size, disp_unit, info, comm, win);
    enum osc_route route = policy == OSC_POLICY_UCX ? OSC_ROUTE_UCX : OSC_ROUTE_DEFAULT;
    if (policy == OSC_POLICY_AUTO) {
        int mine = size > 0 && osc_route_is_ve_memory(base), any = 0;
        int rc = PMPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
        if (rc != MPI_SUCCESS)
            return rc;
        if (any)
            route = OSC_ROUTE_UCX;
    }
    osc_route_begin(route);
    int rc = PMPI_Win_create(base, size, disp_unit, info, comm, win);
    osc_route_end();
    if (rc == MPI_SUCCESS && route == OSC_ROUTE_UCX) {
        osc_route_mark_ucx(*win);
        direct_win_setup(*win, comm, base, size, disp_unit);
    } else if (rc == MPI_SUCCESS) {
        host_win_setup(*win, comm, base, size, disp_unit);
    }
    return rc;
}

/* Open MPI 4.1.4's osc/ucx reads the target's list of attached regions and
 * unpacks the region's remote key again on every operation on a dynamic
 * window; now and then that key is garbage and the rank crashes in UCP
 * (reproduced over UCX's own transports, without veshm: docs/MPI_ROUTING.md).
 * Attached memory is host memory anyway: the default path. */
int MPI_Win_create_dynamic(MPI_Info info, MPI_Comm comm, MPI_Win *win) {
    enum osc_route_policy policy = osc_route_policy();
    if (policy == OSC_POLICY_OFF)
        return PMPI_Win_create_dynamic(info, comm, win);
    enum osc_route route = policy == OSC_POLICY_UCX ? OSC_ROUTE_UCX : OSC_ROUTE_DEFAULT;
    osc_route_begin(route);
    int rc = PMPI_Win_create_dynamic(info, comm, win);
    osc_route_end();
    if (rc == MPI_SUCCESS && route == OSC_ROUTE_UCX)
        osc_route_mark_ucx(*win);
    return rc;
}
