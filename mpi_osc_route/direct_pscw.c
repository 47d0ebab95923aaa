/* Generalized active-target synchronization (MPI_Win_post, _start,
 * _complete, _wait, _test) of same-host osc/ucx windows (direct_win.h), on
 * counters in the window's shared segment instead of osc/ucx's messages:
 * a post adds one to posts[target] of each origin it exposes to, a start
 * consumes one from each target it accesses, a complete adds one to the
 * completes of each target, a wait consumes as many as it has origins.
 * Counting, not flags: the next epoch's post may come before the origin has
 * seen the previous one's. An access epoch is then carried like a passive
 * epoch without a lock: operations through the views, the rest through
 * osc/ucx in a NOCHECK passive epoch that MPI_Win_complete closes (which
 * completes them at the target) before it counts. */
#include "direct_win.h"
#include "host_win.h"
#include "osc_route_weak.h"

/* The window ranks of group's members in w->group_scratch[0..*n), or an MPI
 * error when a member is not in the window. */
static int window_ranks(struct direct_win *w, MPI_Group group, int *n) {
    int rc = PMPI_Group_size(group, n);
    if (rc != MPI_SUCCESS)
        return rc;
    if (*n > w->size)
        return MPI_ERR_GROUP;
    int *in = w->group_scratch + w->size, *out = w->group_scratch;
    for (int i = 0; i < *n; ++i)
        in[i] = i;
    rc = PMPI_Group_translate_ranks(group, *n, in, w->group, out);
    for (int i = 0; rc == MPI_SUCCESS && i < *n; ++i)
        if (out[i] < 0 || out[i] >= w->size)
            rc = MPI_ERR_GROUP;
    return rc;
}

static int group_error(MPI_Win win, int rc) {
    PMPI_Win_call_errhandler(win, rc);
    return rc;
}

int MPI_Win_post(MPI_Group group, int assert, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Win_post(group, assert, win);
    if (w->exposed >= 0)
        return direct_sync_error(win);
    int n, rc = window_ranks(w, group, &n);
    if (rc != MPI_SUCCESS)
        return group_error(win, rc);
    /* With NOCHECK the origins assert that they do not wait for this post
     * (the standard requires it on both sides or neither). */
    if (!(assert &MPI_MODE_NOCHECK))
        for (int i = 0; i < n; ++i)
            __atomic_fetch_add(&w->t[w->group_scratch[i]].ctl->posts[w->rank], 1, __ATOMIC_RELEASE);
    w->exposed = n;
    return MPI_SUCCESS;
}

/* Blocks until every target has posted: allowed by the standard, and the
 * operations of the epoch may then go straight to the target's memory. */
int MPI_Win_start(MPI_Group group, int assert, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return host_win_synced(win, HOST_SYNC_OTHER_EPOCH, -1, assert,
                               PMPI_Win_start(group, assert, win));
    if (w->access || w->lock_all)
        return direct_sync_error(win);
    int n, rc = window_ranks(w, group, &n);
    if (rc != MPI_SUCCESS)
        return group_error(win, rc);
    for (int i = 0; i < n; ++i)
        if (w->t[w->group_scratch[i]].lock != DIRECT_UNLOCKED)
            return direct_sync_error(win);
    /* The fence epoch, if any, ends here, and with it osc/ucx's epochs
     * towards targets outside the group (only a fence epoch leaves any). */
    rc = w->fence ? direct_pmpi_close(w) : MPI_SUCCESS;
    __atomic_store_n(&w->fence, 0, __ATOMIC_RELAXED);
    const uint64_t *posts = w->t[w->rank].ctl->posts;
    for (int i = 0; i < n; ++i) {
        int r = w->group_scratch[i];
        struct direct_target *t = &w->t[r];
        if (!(assert &MPI_MODE_NOCHECK)) {
            while (__atomic_load_n(&posts[r], __ATOMIC_ACQUIRE) == t->posts_seen)
                direct_progress();
            ++t->posts_seen;
        }
        __atomic_store_n(&t->lock, DIRECT_PSCW, __ATOMIC_RELEASE);
    }
    w->access = 1;
    return rc;
}

int MPI_Win_complete(MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Win_complete(win);
    if (!w->access)
        return direct_sync_error(win);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int rc = MPI_SUCCESS;
    for (int r = 0; r < w->size; ++r) {
        struct direct_target *t = &w->t[r];
        if (t->lock != DIRECT_PSCW)
            continue;
        int urc = direct_pmpi_unlock(w, r);
        if (rc == MPI_SUCCESS)
            rc = urc;
        __atomic_store_n(&t->lock, DIRECT_UNLOCKED, __ATOMIC_RELEASE);
        __atomic_fetch_add(&t->ctl->completes, 1, __ATOMIC_RELEASE);
    }
    w->access = 0;
    return rc;
}

/* Whether every origin of the exposure epoch has completed; closes it if so. */
static int exposure_done(struct direct_win *w) {
    uint64_t done = __atomic_load_n(&w->t[w->rank].ctl->completes, __ATOMIC_ACQUIRE);
    if (done - w->completes_seen < (uint64_t)w->exposed)
        return 0;
    w->completes_seen += (uint64_t)w->exposed;
    w->exposed = -1;
    return 1;
}

/* Spins with MPI's progress: operations of the origins that osc/ucx carries
 * may need this rank to answer them. */
int MPI_Win_wait(MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Win_wait(win);
    if (w->exposed < 0)
        return direct_sync_error(win);
    while (!exposure_done(w))
        direct_progress();
    return MPI_SUCCESS;
}

int MPI_Win_test(MPI_Win win, int *flag) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Win_test(win, flag);
    if (w->exposed < 0)
        return direct_sync_error(win);
    *flag = exposure_done(w);
    if (!*flag)
        direct_progress();
    return MPI_SUCCESS;
}
