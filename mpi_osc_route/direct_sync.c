/* Passive-target synchronization and fences of same-host osc/ucx windows
 * (direct_win.h): MPI_Win_lock, _unlock, _lock_all, _unlock_all and the
 * flushes, on the lock words of the window's shared segment; MPI_Win_fence.
 * Operations done through the views are complete when they return; the
 * flushes and unlocks order them with a fence, and complete what went to
 * osc/ucx with osc/ucx's own call. */
#include "direct_win.h"
#include "host_win.h"
#include "osc_route_weak.h"

static void lock_shared(struct direct_ctl *c) {
    for (;;) {
        if (!(__atomic_fetch_add(&c->lock, 1, __ATOMIC_ACQUIRE) & DIRECT_LOCK_EXCL))
            return;
        __atomic_fetch_sub(&c->lock, 1, __ATOMIC_RELAXED);
        while (__atomic_load_n(&c->lock, __ATOMIC_RELAXED) & DIRECT_LOCK_EXCL)
            direct_progress();
    }
}

static void lock_exclusive(struct direct_ctl *c) {
    for (;;) {
        uint64_t expected = 0;
        if (__atomic_compare_exchange_n(&c->lock, &expected, DIRECT_LOCK_EXCL, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        direct_progress();
    }
}

/* Subtracts, not stores: shared lockers briefly add to a word that is held
 * exclusively before they back off. */
static void unlock_word(struct direct_ctl *c, int type) {
    __atomic_fetch_sub(&c->lock, type == DIRECT_EXCLUSIVE ? DIRECT_LOCK_EXCL : 1, __ATOMIC_RELEASE);
}

static int valid_target(const struct direct_win *w, int rank) {
    return rank >= 0 && rank < w->size;
}

int MPI_Win_lock(int lock_type, int rank, int assert, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return host_win_synced(
            win, lock_type == MPI_LOCK_EXCLUSIVE ? HOST_SYNC_LOCK_EXCLUSIVE : HOST_SYNC_LOCK, rank,
            assert, PMPI_Win_lock(lock_type, rank, assert, win));
    if (!valid_target(w, rank) || (lock_type != MPI_LOCK_SHARED && lock_type != MPI_LOCK_EXCLUSIVE))
        return PMPI_Win_lock(lock_type, rank, assert, win);
    struct direct_target *t = &w->t[rank];
    if (w->lock_all || t->lock != DIRECT_UNLOCKED)
        return direct_sync_error(win);
    int type = lock_type == MPI_LOCK_SHARED ? DIRECT_SHARED : DIRECT_EXCLUSIVE;
    if (assert & MPI_MODE_NOCHECK)
        type = DIRECT_NOCHECK;
    else if (type == DIRECT_SHARED)
        lock_shared(t->ctl);
    else
        lock_exclusive(t->ctl);
    __atomic_store_n(&t->lock, type, __ATOMIC_RELEASE);
    return MPI_SUCCESS;
}

int MPI_Win_unlock(int rank, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL) {
        /* Forgotten first: nothing may skip osc/rdma once the epoch ends. */
        host_win_synced(win, HOST_SYNC_UNLOCK, rank, 0, MPI_SUCCESS);
        return PMPI_Win_unlock(rank, win);
    }
    if (!valid_target(w, rank))
        return PMPI_Win_unlock(rank, win);
    struct direct_target *t = &w->t[rank];
    int type = t->lock;
    if (type == DIRECT_UNLOCKED || type == DIRECT_PSCW)
        return direct_sync_error(win);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int rc = direct_pmpi_unlock(w, rank);
    __atomic_store_n(&t->lock, DIRECT_UNLOCKED, __ATOMIC_RELEASE);
    if (type != DIRECT_NOCHECK)
        unlock_word(t->ctl, type);
    return rc;
}

int MPI_Win_lock_all(int assert, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return host_win_synced(win, HOST_SYNC_OTHER_EPOCH, -1, assert,
                               PMPI_Win_lock_all(assert, win));
    if (w->lock_all)
        return direct_sync_error(win);
    for (int r = 0; r < w->size; ++r)
        if (w->t[r].lock != DIRECT_UNLOCKED)
            return direct_sync_error(win);
    /* A fence epoch's osc/ucx epochs towards single targets would make its
     * lock_all fail; only a fence epoch leaves any open. */
    int rc = w->fence ? direct_pmpi_close(w) : MPI_SUCCESS;
    int nocheck = (assert &MPI_MODE_NOCHECK) != 0;
    for (int r = 0; r < w->size && !nocheck; ++r)
        lock_shared(w->t[r].ctl);
    __atomic_store_n(&w->lock_all, nocheck ? 2 : 1, __ATOMIC_RELEASE);
    return rc;
}

int MPI_Win_unlock_all(MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Win_unlock_all(win);
    int mode = w->lock_all;
    if (mode == 0)
        return direct_sync_error(win);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int rc = MPI_SUCCESS;
    if (w->pmpi_lock_all) {
        rc = PMPI_Win_unlock_all(win);
        __atomic_store_n(&w->pmpi_lock_all, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&w->lock_all, 0, __ATOMIC_RELEASE);
    for (int r = 0; r < w->size; ++r) {
        __atomic_store_n(&w->t[r].pmpi_pending, 0, __ATOMIC_RELAXED);
        if (mode == 1)
            unlock_word(w->t[r].ctl, DIRECT_SHARED);
    }
    return rc;
}

/* What a flush of target needs beyond the fence: 1 when osc/ucx has
 * operations towards it to complete. Now and then MPI progresses here too: a
 * rank that only polls through the views must still serve the osc/ucx
 * operations others send it. */
static int flush_needs_ucx(struct direct_win *w, int target) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    unsigned n = __atomic_load_n(&w->flushes, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&w->flushes, n, __ATOMIC_RELAXED);
    if (n % 64 == 0)
        direct_progress();
    if (!__atomic_load_n(&w->t[target].pmpi_pending, __ATOMIC_RELAXED))
        return 0;
    __atomic_store_n(&w->t[target].pmpi_pending, 0, __ATOMIC_RELAXED);
    return 1;
}

/* Flushes of every target this rank has an epoch towards: osc/ucx's flush of
 * each target it has operations towards (one flush_all of osc/ucx would need
 * an epoch of it towards all). MPI_ERR_RMA_SYNC without any epoch. */
static int flush_all(struct direct_win *w, int (*flush_one)(int, MPI_Win)) {
    int rc = MPI_SUCCESS, epochs = 0;
    for (int r = 0; r < w->size; ++r) {
        if (!direct_in_epoch(w, r))
            continue;
        ++epochs;
        if (flush_needs_ucx(w, r) && rc == MPI_SUCCESS)
            rc = flush_one(r, w->win);
    }
    return epochs == 0 ? direct_sync_error(w->win) : rc;
}

int MPI_Win_flush(int rank, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL || !valid_target(w, rank) || !direct_in_epoch(w, rank) ||
        flush_needs_ucx(w, rank))
        return PMPI_Win_flush(rank, win);
    return MPI_SUCCESS;
}

int MPI_Win_flush_local(int rank, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL || !valid_target(w, rank) || !direct_in_epoch(w, rank) ||
        flush_needs_ucx(w, rank))
        return PMPI_Win_flush_local(rank, win);
    return MPI_SUCCESS;
}

int MPI_Win_flush_all(MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    return w == NULL ? PMPI_Win_flush_all(win) : flush_all(w, PMPI_Win_flush);
}

int MPI_Win_flush_local_all(MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    return w == NULL ? PMPI_Win_flush_local_all(win) : flush_all(w, PMPI_Win_flush_local);
}

/* The memory barrier of an epoch; osc/ucx's own only when it has an
 * epoch open (it answers MPI_ERR_RMA_SYNC otherwise, and ours is lazy). */
int MPI_Win_sync(MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return PMPI_Win_sync(win);
    int epochs = w->lock_all != 0, ucx_epochs = w->pmpi_lock_all;
    for (int r = 0; r < w->size; ++r) {
        epochs += w->t[r].lock != DIRECT_UNLOCKED;
        ucx_epochs += w->t[r].pmpi_locked;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (epochs == 0 || ucx_epochs > 0)
        return PMPI_Win_sync(win);
    return MPI_SUCCESS;
}

/* A fence completes what this rank started (through the views already;
 * osc/ucx's by closing the epochs opened for it) and waits for every rank to
 * have done so: then the targets' memory holds the finished epoch, and the
 * next one is carried like a passive epoch towards all ranks. osc/ucx's own
 * fence is not used: in its fence epochs it allows no passive epoch, which
 * the operations it carries for this library need (accumulates, flushed
 * under the accumulate lock). */
int MPI_Win_fence(int assert, MPI_Win win) {
    struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return host_win_synced(win, HOST_SYNC_FENCE, -1, assert, PMPI_Win_fence(assert, win));
    int epochs = w->lock_all || w->access || w->exposed >= 0;
    for (int r = 0; r < w->size; ++r)
        epochs += w->t[r].lock != DIRECT_UNLOCKED;
    if (epochs)
        return direct_sync_error(win);
    __atomic_store_n(&w->fence, 0, __ATOMIC_RELAXED);
    int rc = direct_pmpi_close(w);
    /* Release, not a full fence: a rank leaves the barrier only after every
     * other rank's message, and each one's stores through the views are
     * ordered before its message; no load of this rank needs to wait for
     * them (a full fence cost 1-2% of an accumulate + fence loop). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    int brc = PMPI_Barrier(w->comm);
    if (!(assert &MPI_MODE_NOSUCCEED))
        __atomic_store_n(&w->fence, 1, __ATOMIC_RELAXED);
    return rc != MPI_SUCCESS ? rc : brc;
}
