/* Communication calls on same-host osc/ucx windows (direct_win.h): in a
 * passive-target, PSCW access or fence epoch, contiguous transfers of one
 * predefined datatype to a target with a view are copies through it, and
 * accumulates and atomics are done in place under the window's accumulate
 * lock; everything else goes to osc/ucx, accumulates
 * still under that lock and flushed before it is released, so that both ways
 * stay atomic with respect to each other. */
#include "direct_win.h"
#include "host_win.h"
#include "osc_route.h"
#include "osc_route_weak.h"

#include <string.h>

/* Bytes of count elements of a predefined datatype that starts at its lower
 * bound 0 (its elements lie back to back); 0 for anything else. */
static size_t predefined_bytes(MPI_Datatype dt, int count) {
    /* Predefined handles are never freed, so a remembered one stays valid. */
    static __thread MPI_Datatype last = MPI_DATATYPE_NULL;
    static __thread MPI_Aint last_extent;
    if (count <= 0)
        return 0;
    if (dt != last) {
        int ints, addrs, types, combiner;
        MPI_Aint lb, extent;
        if (PMPI_Type_get_envelope(dt, &ints, &addrs, &types, &combiner) != MPI_SUCCESS ||
            combiner != MPI_COMBINER_NAMED ||
            PMPI_Type_get_extent(dt, &lb, &extent) != MPI_SUCCESS || lb != 0 || extent <= 0)
            return 0;
        last = dt;
        last_extent = extent;
    }
    return (size_t)count * (size_t)last_extent;
}

size_t osc_route_same_layout(MPI_Datatype a, int acount, MPI_Datatype b, int bcount) {
    return a == b && acount == bcount ? predefined_bytes(a, acount) : 0;
}

/* disp in bytes from the start of target's window, as the target names it
 * (a copy shared with it, direct_help.c); for a disp target_addr accepted. */
static uint64_t target_offset(const struct direct_win *w, int target, MPI_Aint disp) {
    return (uint64_t)disp * (uint64_t)w->t[target].disp_unit;
}

/* Where bytes at disp of target are in this process, or NULL when the
 * operation has to go to osc/ucx (no view, outside the window, no epoch of
 * ours: osc/ucx then answers as it always did). */
static uint8_t *target_addr(const struct direct_win *w, int target, MPI_Aint disp, size_t bytes) {
    if (bytes == 0 || target < 0 || target >= w->size || !direct_in_epoch(w, target))
        return NULL;
    const struct direct_target *t = &w->t[target];
    const struct direct_views *m = &t->mem;
    uint64_t off;
    if (m->view == NULL || disp < 0 ||
        __builtin_mul_overflow((uint64_t)disp, (uint64_t)t->disp_unit, &off) || off > t->size ||
        bytes > t->size - off)
        return NULL;
    if (off < m->first_len)
        return bytes <= m->first_len - off ? m->view[0] + off : NULL;
    uint64_t in_area = (off - m->first_len) % m->area_len;
    if (bytes > m->area_len - in_area)
        return NULL; /* crosses into the next area's view */
    return m->view[1 + (off - m->first_len) / m->area_len] + in_area;
}

/* An operation that moves nothing (count 0) in one of our epochs: done,
 * without a round trip through osc/ucx's accumulate lock. */
static int moves_nothing(struct direct_win *w, int target, int target_count) {
    if (target_count != 0 || target < 0 || target >= w->size || !direct_in_epoch(w, target))
        return 0;
    direct_count(&w->stats.direct);
    return 1;
}

/* Before an operation goes to osc/ucx in one of our epochs. */
static int to_ucx(struct direct_win *w, int target) {
    if (target < 0 || target >= w->size || !direct_in_epoch(w, target))
        return MPI_SUCCESS;
    return direct_pmpi_epoch(w, target);
}

/* Whether the accumulate lock covers this call: one of our epochs towards a
 * valid target. */
static int locked_accumulate(const struct direct_win *w, int target) {
    return target >= 0 && target < w->size && direct_in_epoch(w, target);
}

/* target = origin op target, in place. */
static int apply(uint8_t *dst, const void *origin, int count, MPI_Datatype dt, MPI_Op op,
                 size_t bytes) {
    if (op == MPI_NO_OP)
        return MPI_SUCCESS;
    if (op == MPI_REPLACE) {
        memmove(dst, origin, bytes);
        return MPI_SUCCESS;
    }
    return PMPI_Reduce_local(origin, dst, count, dt, op);
}

/* Completes an osc/ucx accumulate before the accumulate lock is released. */
static int flushed(struct direct_win *w, int target, int rc) {
    return rc == MPI_SUCCESS ? PMPI_Win_flush(target, w->win) : rc;
}

/* The request of an operation done already: an empty one, which MPI_Wait and
 * MPI_Test complete at once (and set to MPI_REQUEST_NULL). */
static int done_request(MPI_Request *request) {
    return PMPI_Isend(NULL, 0, MPI_BYTE, MPI_PROC_NULL, 0, MPI_COMM_SELF, request);
}

/* What an operation done here returns: its request, complete already, if it
 * is a request-based one. */
static int finished(MPI_Request *request) {
    return request != NULL ? done_request(request) : MPI_SUCCESS;
}

/* MPI_Put, MPI_Get and their request-based forms (request != NULL) on a
 * same-host window. */
static int transfer(struct direct_win *w, int is_get, void *origin_addr, int origin_count,
                    MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp,
                    int target_count, MPI_Datatype target_datatype, MPI_Request *request) {
    size_t n = osc_route_same_layout(origin_datatype, origin_count, target_datatype, target_count);
    if (moves_nothing(w, target_rank, target_count))
        return finished(request);
    uint8_t *at = target_addr(w, target_rank, target_disp, n);
    if (at != NULL) {
        direct_copy(w, target_rank, at, target_offset(w, target_rank, target_disp), origin_addr, n,
                    is_get);
        direct_count(&w->stats.direct);
        return finished(request);
    }
    int rc = to_ucx(w, target_rank);
    if (rc != MPI_SUCCESS)
        return rc;
    if (is_get)
        return request != NULL
                   ? PMPI_Rget(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                               target_count, target_datatype, w->win, request)
                   : PMPI_Get(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                              target_count, target_datatype, w->win);
    return request != NULL ? PMPI_Rput(origin_addr, origin_count, origin_datatype, target_rank,
                                       target_disp, target_count, target_datatype, w->win, request)
                           : PMPI_Put(origin_addr, origin_count, origin_datatype, target_rank,
                                      target_disp, target_count, target_datatype, w->win);
}

int MPI_Put(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype,
            int target_rank, MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype,
            MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL) {
        int rc = host_win_transfer(win, 0, (void *)origin_addr, origin_count, origin_datatype,
                                   target_rank, target_disp, target_count, target_datatype);
        return rc != -1 ? rc
                        : PMPI_Put(origin_addr, origin_count, origin_datatype, target_rank,
                                   target_disp, target_count, target_datatype, win);
    }
    return transfer(w, 0, (void *)origin_addr, origin_count, origin_datatype, target_rank,
                    target_disp, target_count, target_datatype, NULL);
}

int MPI_Get(void *origin_addr, int origin_count, MPI_Datatype origin_datatype, int target_rank,
            MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL) {
        int rc = host_win_transfer(win, 1, origin_addr, origin_count, origin_datatype, target_rank,
                                   target_disp, target_count, target_datatype);
        return rc != -1 ? rc
                        : PMPI_Get(origin_addr, origin_count, origin_datatype, target_rank,
                                   target_disp, target_count, target_datatype, win);
    }
    return transfer(w, 1, origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                    target_count, target_datatype, NULL);
}

int MPI_Rput(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype,
             int target_rank, MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype,
             MPI_Win win, MPI_Request *request) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Rput(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                         target_count, target_datatype, win, request);
    return transfer(w, 0, (void *)origin_addr, origin_count, origin_datatype, target_rank,
                    target_disp, target_count, target_datatype, request);
}

int MPI_Rget(void *origin_addr, int origin_count, MPI_Datatype origin_datatype, int target_rank,
             MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype, MPI_Win win,
             MPI_Request *request) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Rget(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                         target_count, target_datatype, win, request);
    return transfer(w, 1, origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                    target_count, target_datatype, request);
}

/* MPI_Accumulate and MPI_Raccumulate (request != NULL) under the accumulate
 * lock of target (locked_accumulate). */
static int accumulate(struct direct_win *w, const void *origin_addr, int origin_count,
                      MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp,
                      int target_count, MPI_Datatype target_datatype, MPI_Op op,
                      MPI_Request *request) {
    if (moves_nothing(w, target_rank, target_count))
        return finished(request);
    size_t n = osc_route_same_layout(origin_datatype, origin_count, target_datatype, target_count);
    uint8_t *dst = target_addr(w, target_rank, target_disp, n);
    direct_acc_lock(w, target_rank);
    int rc;
    if (dst != NULL) {
        rc = direct_accumulate_helped(w, target_rank, dst,
                                      target_offset(w, target_rank, target_disp), origin_addr,
                                      origin_datatype, op, n)
                 ? MPI_SUCCESS
                 : apply(dst, origin_addr, origin_count, origin_datatype, op, n);
        direct_count(&w->stats.direct);
        if (rc == MPI_SUCCESS)
            rc = finished(request);
    } else if ((rc = direct_pmpi_epoch(w, target_rank)) == MPI_SUCCESS) {
        rc = request != NULL
                 ? PMPI_Raccumulate(origin_addr, origin_count, origin_datatype, target_rank,
                                    target_disp, target_count, target_datatype, op, w->win, request)
                 : PMPI_Accumulate(origin_addr, origin_count, origin_datatype, target_rank,
                                   target_disp, target_count, target_datatype, op, w->win);
        rc = flushed(w, target_rank, rc);
    }
    direct_acc_unlock(w, target_rank);
    return rc;
}

int MPI_Accumulate(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype,
                   int target_rank, MPI_Aint target_disp, int target_count,
                   MPI_Datatype target_datatype, MPI_Op op, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL) {
        int rc = host_win_accumulate(win, origin_addr, origin_count, origin_datatype, NULL, 0,
                                     MPI_DATATYPE_NULL, target_rank, target_disp, target_count,
                                     target_datatype, op);
        if (rc != -1)
            return rc;
    }
    if (w == NULL || !locked_accumulate(w, target_rank))
        return PMPI_Accumulate(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                               target_count, target_datatype, op, win);
    return accumulate(w, origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                      target_count, target_datatype, op, NULL);
}

int MPI_Raccumulate(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype,
                    int target_rank, MPI_Aint target_disp, int target_count,
                    MPI_Datatype target_datatype, MPI_Op op, MPI_Win win, MPI_Request *request) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL || !locked_accumulate(w, target_rank))
        return PMPI_Raccumulate(origin_addr, origin_count, origin_datatype, target_rank,
                                target_disp, target_count, target_datatype, op, win, request);
    return accumulate(w, origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                      target_count, target_datatype, op, request);
}

/* MPI_Get_accumulate and MPI_Rget_accumulate (request != NULL) under the
 * accumulate lock of target (locked_accumulate). */
static int get_accumulate(struct direct_win *w, const void *origin_addr, int origin_count,
                          MPI_Datatype origin_datatype, void *result_addr, int result_count,
                          MPI_Datatype result_datatype, int target_rank, MPI_Aint target_disp,
                          int target_count, MPI_Datatype target_datatype, MPI_Op op,
                          MPI_Request *request) {
    if (moves_nothing(w, target_rank, target_count))
        return finished(request);
    /* MPI_NO_OP ignores the origin arguments. */
    size_t n = osc_route_same_layout(result_datatype, result_count, target_datatype, target_count);
    if (op != MPI_NO_OP &&
        osc_route_same_layout(origin_datatype, origin_count, target_datatype, target_count) != n)
        n = 0;
    uint8_t *dst = target_addr(w, target_rank, target_disp, n);
    direct_acc_lock(w, target_rank);
    int rc;
    if (dst != NULL) {
        /* A get, then an accumulate, both shared with the target or neither
         * (DIRECT_GET_ACC_HELP_MIN): under the accumulate lock, nothing
         * comes between them. */
        uint64_t offset = target_offset(w, target_rank, target_disp);
        int share = n >= DIRECT_GET_ACC_HELP_MIN;
        if (share)
            direct_copy(w, target_rank, dst, offset, result_addr, n, 1);
        else
            memcpy(result_addr, dst, n);
        rc = share && direct_accumulate_helped(w, target_rank, dst, offset, origin_addr,
                                               target_datatype, op, n)
                 ? MPI_SUCCESS
                 : apply(dst, origin_addr, target_count, target_datatype, op, n);
        direct_count(&w->stats.direct);
        if (rc == MPI_SUCCESS)
            rc = finished(request);
    } else if ((rc = direct_pmpi_epoch(w, target_rank)) == MPI_SUCCESS) {
        rc = request != NULL
                 ? PMPI_Rget_accumulate(origin_addr, origin_count, origin_datatype, result_addr,
                                        result_count, result_datatype, target_rank, target_disp,
                                        target_count, target_datatype, op, w->win, request)
                 : PMPI_Get_accumulate(origin_addr, origin_count, origin_datatype, result_addr,
                                       result_count, result_datatype, target_rank, target_disp,
                                       target_count, target_datatype, op, w->win);
        rc = flushed(w, target_rank, rc);
    }
    direct_acc_unlock(w, target_rank);
    return rc;
}

int MPI_Get_accumulate(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype,
                       void *result_addr, int result_count, MPI_Datatype result_datatype,
                       int target_rank, MPI_Aint target_disp, int target_count,
                       MPI_Datatype target_datatype, MPI_Op op, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL) {
        int rc = host_win_accumulate(win, origin_addr, origin_count, origin_datatype, result_addr,
                                     result_count, result_datatype, target_rank, target_disp,
                                     target_count, target_datatype, op);
        if (rc != -1)
            return rc;
    }
    if (w == NULL || !locked_accumulate(w, target_rank))
        return PMPI_Get_accumulate(origin_addr, origin_count, origin_datatype, result_addr,
                                   result_count, result_datatype, target_rank, target_disp,
                                   target_count, target_datatype, op, win);
    return get_accumulate(w, origin_addr, origin_count, origin_datatype, result_addr, result_count,
                          result_datatype, target_rank, target_disp, target_count, target_datatype,
                          op, NULL);
}

int MPI_Rget_accumulate(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype,
                        void *result_addr, int result_count, MPI_Datatype result_datatype,
                        int target_rank, MPI_Aint target_disp, int target_count,
                        MPI_Datatype target_datatype, MPI_Op op, MPI_Win win,
                        MPI_Request *request) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL || !locked_accumulate(w, target_rank))
        return PMPI_Rget_accumulate(origin_addr, origin_count, origin_datatype, result_addr,
                                    result_count, result_datatype, target_rank, target_disp,
                                    target_count, target_datatype, op, win, request);
    return get_accumulate(w, origin_addr, origin_count, origin_datatype, result_addr, result_count,
                          result_datatype, target_rank, target_disp, target_count, target_datatype,
                          op, request);
}

int MPI_Fetch_and_op(const void *origin_addr, void *result_addr, MPI_Datatype datatype,
                     int target_rank, MPI_Aint target_disp, MPI_Op op, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL || !locked_accumulate(w, target_rank))
        return osc_route_fetch_and_op(origin_addr, result_addr, datatype, target_rank, target_disp,
                                      op, win);
    size_t n = predefined_bytes(datatype, 1);
    uint8_t *dst = target_addr(w, target_rank, target_disp, n);
    direct_acc_lock(w, target_rank);
    int rc;
    if (dst != NULL) {
        memcpy(result_addr, dst, n);
        rc = apply(dst, origin_addr, 1, datatype, op, n);
        direct_count(&w->stats.direct);
    } else if ((rc = direct_pmpi_epoch(w, target_rank)) == MPI_SUCCESS) {
        rc = flushed(w, target_rank,
                     osc_route_fetch_and_op(origin_addr, result_addr, datatype, target_rank,
                                            target_disp, op, win));
    }
    direct_acc_unlock(w, target_rank);
    return rc;
}

int MPI_Compare_and_swap(const void *origin_addr, const void *compare_addr, void *result_addr,
                         MPI_Datatype datatype, int target_rank, MPI_Aint target_disp,
                         MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL || !locked_accumulate(w, target_rank))
        return PMPI_Compare_and_swap(origin_addr, compare_addr, result_addr, datatype, target_rank,
                                     target_disp, win);
    size_t n = predefined_bytes(datatype, 1);
    uint8_t *dst = target_addr(w, target_rank, target_disp, n);
    direct_acc_lock(w, target_rank);
    int rc = MPI_SUCCESS;
    if (dst != NULL) {
        memcpy(result_addr, dst, n);
        if (memcmp(result_addr, compare_addr, n) == 0)
            memcpy(dst, origin_addr, n);
        direct_count(&w->stats.direct);
    } else if ((rc = direct_pmpi_epoch(w, target_rank)) == MPI_SUCCESS) {
        rc = flushed(w, target_rank,
                     PMPI_Compare_and_swap(origin_addr, compare_addr, result_addr, datatype,
                                           target_rank, target_disp, win));
    }
    direct_acc_unlock(w, target_rank);
    return rc;
}
