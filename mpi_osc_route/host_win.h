/* Windows over host memory on one host (MPI_Win_create of memory the
 * program allocated, docs/MPI_ROUTING.md "Host-memory windows").
 *
 * Nothing of veshm can map such memory: these windows stay on Open MPI's
 * default path (osc/rdma over btl/vader), which moves each put or get with
 * one process_vm_writev/readv of the origin. A large contiguous put or get
 * is shared instead with the target when it polls inside MPI
 * (core/wire/copy_help.h, both sides through the kernel): the origin copies
 * half, the target the other half. Synchronization stays osc/rdma's: the
 * first element of each such transfer goes through it, so an operation
 * outside an epoch is refused as before, and a lock osc/rdma takes only
 * with an epoch's first operation is held before any other byte moves;
 * except in the epochs known to hold their locks already (host_win_synced). */
#ifndef VESHM_HOST_WIN_H
#define VESHM_HOST_WIN_H

#include <mpi.h>

/* After a window over host memory went to the default path (collective over
 * comm). */
void host_win_setup(MPI_Win win, MPI_Comm comm, void *base, MPI_Aint size, int disp_unit);

/* An MPI_Put (is_get 0) or MPI_Get on win: MPI_SUCCESS or an MPI error when
 * done here, -1 when it is not one for this path (the caller passes it on). */
int host_win_transfer(MPI_Win win, int is_get, void *origin_addr, int origin_count,
                      MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp,
                      int target_count, MPI_Datatype target_datatype);

/* A large MPI_Accumulate (result NULL) or MPI_Get_accumulate on win,
 * shared with the target, inside an MPI_Win_lock epoch of MPI_LOCK_EXCLUSIVE
 * only: osc/rdma's accumulates take a lock of its own, which nothing here can
 * take, so a read-modify-write of this path is atomic with them only where
 * no other origin may access the target at all. Contiguous, one predefined
 * operation and type (direct_acc_code), result (if any) of the target's
 * layout. MPI_SUCCESS or an MPI error when done here, -1 when it is not one
 * for this path (the caller passes it on). */
int host_win_accumulate(MPI_Win win, const void *origin_addr, int origin_count,
                        MPI_Datatype origin_datatype, void *result_addr, int result_count,
                        MPI_Datatype result_datatype, int target_rank, MPI_Aint target_disp,
                        int target_count, MPI_Datatype target_datatype, MPI_Op op);

/* What a synchronization call of win did, once osc/rdma answered it rc (any
 * window: nothing if it has no state here). An MPI_Win_lock that osc/rdma
 * accepted has taken its lock already (in both of its locking modes), and
 * a fence without MPI_MODE_NOSUCCEED opens an epoch towards every rank:
 * large transfers there need not send their first element through osc/rdma.
 * Any other epoch (lock_all, whose locks may be taken on demand; PSCW) ends
 * what a fence opened, as in osc/rdma. Returns rc. */
enum host_sync {
    HOST_SYNC_LOCK, /* MPI_LOCK_SHARED */
    HOST_SYNC_LOCK_EXCLUSIVE,
    HOST_SYNC_UNLOCK,
    HOST_SYNC_FENCE,
    HOST_SYNC_OTHER_EPOCH
};
int host_win_synced(MPI_Win win, enum host_sync what, int rank, int mode, int rc);

/* Before win is freed (any window: nothing if it has no state here). */
void host_win_release(MPI_Win win);

/* This rank's part of the transfers published to it (a progress callback). */
int host_win_help_all(void);

#endif
