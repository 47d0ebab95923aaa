/* MPI_Fetch_and_op on windows of osc/ucx, where it goes through osc/ucx
 * (direct_rma.c wraps the call). Open MPI 4.1.4's osc/ucx turns
 * MPI_NO_OP, MPI_REPLACE and MPI_SUM into one UCP atomic of the datatype's
 * size: UCP refuses sizes other than 4 and 8 bytes (char, short, long
 * double: "invalid atomic operation datatype", the call fails), and its
 * atomic add is an integer add (MPI_SUM on float or double gives wrong
 * results). Those cases go through MPI_Get_accumulate, which osc/ucx does
 * under its accumulate lock with the reduction done by Open MPI: correct
 * for every predefined datatype, and still atomic with respect to the other
 * accumulates on the window. */
#include "osc_route.h"
#include "osc_route_weak.h"

#include <string.h>

/* Predefined integer datatypes, the ones UCP's integer add is right for when
 * 4 or 8 bytes long: handles compared (their symbols weak, osc_route_weak.h),
 * no name lookup on every call. */
static int integer_type(MPI_Datatype dt) {
    const MPI_Datatype ints[] = {
        MPI_INT,           MPI_UNSIGNED,  MPI_LONG,
        MPI_UNSIGNED_LONG, MPI_LONG_LONG, MPI_UNSIGNED_LONG_LONG,
        MPI_INT32_T,       MPI_INT64_T,   MPI_UINT32_T,
        MPI_UINT64_T,      MPI_AINT,      MPI_OFFSET,
        MPI_COUNT,         MPI_INTEGER,   MPI_INTEGER4,
        MPI_INTEGER8,
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); ++i)
        if (dt == ints[i])
            return 1;
    return 0;
}

/* 1 when osc/ucx 4.1.4 does this fetch_and_op correctly by itself. */
static int ucx_fetch_and_op_ok(MPI_Datatype dt, MPI_Op op) {
    if (op != MPI_NO_OP && op != MPI_REPLACE && op != MPI_SUM)
        return 1; /* osc/ucx already takes its get_accumulate path */
    int size = 0;
    if (PMPI_Type_size(dt, &size) != MPI_SUCCESS || (size != 4 && size != 8))
        return 0;
    return op != MPI_SUM || integer_type(dt);
}

int osc_route_fetch_and_op(const void *origin_addr, void *result_addr, MPI_Datatype datatype,
                           int target_rank, MPI_Aint target_disp, MPI_Op op, MPI_Win win) {
    if (osc_route_is_ucx(win) && !ucx_fetch_and_op_ok(datatype, op))
        return PMPI_Get_accumulate(origin_addr, 1, datatype, result_addr, 1, datatype, target_rank,
                                   target_disp, 1, datatype, op, win);
    return PMPI_Fetch_and_op(origin_addr, result_addr, datatype, target_rank, target_disp, op, win);
}
