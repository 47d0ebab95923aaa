/* Same-host window state: set up beside an osc/ucx window, found by handle,
 * freed with the window (direct_win.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "direct_win.h"
#include "host_win.h"
#include "osc_route.h"
#include "osc_route_weak.h"
#include "win_registry.h"

#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#pragma weak opal_progress
extern void opal_progress(void);

/* Windows with a same-host state. */
static struct win_registry registry = WIN_REGISTRY_INIT;
_Static_assert(offsetof(struct direct_win, win) == 0, "win_registry.h finds a window by it");

struct direct_win *direct_win_find(MPI_Win win) {
    return win_registry_find(&registry, win);
}

unsigned direct_win_count(void) {
    return win_registry_count(&registry);
}

struct direct_win *direct_win_at(unsigned i) {
    return win_registry_at(&registry, i);
}

struct rank_window {
    int64_t owner_pid; /* VE process owning the memory; 0 for host memory */
    uint64_t hmem;     /* its HMEM address */
    uint64_t size;
    int64_t disp_unit;
};

static struct rank_window describe(void *base, MPI_Aint size, int disp_unit) {
    struct rank_window d = {0, 0, (uint64_t)(size > 0 ? size : 0), disp_unit};
    void *pid_sym = osc_route_symbol("veo_get_pid_from_hmem");
    void *hmem = size > 0 ? osc_route_hmem_of(base) : NULL;
    if (pid_sym == NULL || hmem == NULL)
        return d;
    int (*pid_of)(void *);
    memcpy(&pid_of, &pid_sym, sizeof(pid_of));
    int pid = pid_of(hmem);
    if (pid > 0) {
        d.owner_pid = pid;
        d.hmem = (uint64_t)(uintptr_t)hmem;
    }
    return d;
}

/* Views of every area of a peer's window memory, or none: an operation may
 * then be done directly wherever it does not cross from one area into the
 * next. */
static struct direct_views peer_views(const struct rank_window *d) {
    struct direct_views v = {NULL, 0, 0};
    void *sym = osc_route_symbol("uct_veshm_peer_view");
    if (sym == NULL || d->owner_pid <= 0 || d->size == 0)
        return v;
    void *(*view)(pid_t, uint64_t, size_t *);
    memcpy(&view, &sym, sizeof(view));
    size_t len = d->size;
    uint8_t *first = view((pid_t)d->owner_pid, d->hmem, &len);
    if (first == NULL)
        return v;
    v.first_len = len;
    size_t rest = d->size - len;
    if (rest > 0) {
        len = rest;
        if (view((pid_t)d->owner_pid, d->hmem + v.first_len, &len) == NULL)
            return v;
        v.area_len = len; /* a whole area, unless it is the last */
    }
    size_t count = 1 + (rest > 0 ? (rest + v.area_len - 1) / v.area_len : 0);
    v.view = calloc(count, sizeof(*v.view));
    if (v.view == NULL)
        return v;
    v.view[0] = first;
    for (size_t i = 1; i < count; ++i) {
        uint64_t off = v.first_len + (i - 1) * v.area_len;
        len = d->size - off < v.area_len ? d->size - off : v.area_len;
        size_t want = len;
        v.view[i] = view((pid_t)d->owner_pid, d->hmem + off, &len);
        if (v.view[i] == NULL || len != want) {
            free(v.view);
            v.view = NULL;
            return v;
        }
    }
    return v;
}

/* This rank's own memory: one stretch. */
static struct direct_views own_views(void *base, uint64_t size) {
    struct direct_views v = {NULL, size, size};
    if (base == NULL || size == 0 || (v.view = malloc(sizeof(*v.view))) == NULL)
        return v;
    v.view[0] = base;
    return v;
}

static void direct_win_destroy(struct direct_win *w) {
    if (w == NULL)
        return;
    for (int r = 0; r < w->size; ++r)
        free(w->t[r].mem.view);
    if (w->group_scratch != NULL)
        PMPI_Group_free(&w->group);
    if (w->has_comm)
        PMPI_Comm_free(&w->comm);
    free(w->group_scratch);
    pthread_mutex_destroy(&w->pmpi_mutex);
    free(w);
}

void direct_win_setup(MPI_Win win, MPI_Comm comm, void *base, MPI_Aint size, int disp_unit) {
    if (!osc_route_direct_enabled() || !osc_route_one_host(comm))
        return;
    int rank, nranks;
    PMPI_Comm_rank(comm, &rank);
    PMPI_Comm_size(comm, &nranks);
    struct direct_win *w = calloc(1, sizeof(*w) + (size_t)nranks * sizeof(w->t[0]));
    struct rank_window *all = calloc((size_t)nranks, sizeof(*all));
    struct direct_ctl *mine = NULL;
    int ok = w != NULL && all != NULL;
    if (w != NULL) {
        w->win = win;
        w->rank = rank;
        w->size = nranks;
        w->exposed = -1;
        pthread_mutex_init(&w->pmpi_mutex, NULL);
        int *scratch = malloc(2 * (size_t)nranks * sizeof(int));
        if (scratch != NULL && PMPI_Win_get_group(win, &w->group) == MPI_SUCCESS)
            w->group_scratch = scratch;
        else
            free(scratch);
        ok = w->group_scratch != NULL;
    }
    size_t ctl_bytes = direct_ctl_bytes(nranks);
    if (ok && PMPI_Win_allocate_shared((MPI_Aint)ctl_bytes, 1, MPI_INFO_NULL, comm, &mine,
                                       &w->ctl_win) != MPI_SUCCESS)
        ok = 0;
    else if (ok)
        memset(mine, 0, ctl_bytes);
    /* Every rank takes the same way: the segment is collective. */
    int all_ok = 0;
    PMPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    struct rank_window me = describe(base, size, disp_unit);
    if (all_ok)
        all_ok = PMPI_Allgather(&me, sizeof(me), MPI_BYTE, all, sizeof(me), MPI_BYTE, comm) ==
                 MPI_SUCCESS;
    if (all_ok)
        all_ok = w->has_comm = PMPI_Comm_dup(comm, &w->comm) == MPI_SUCCESS;
    for (int r = 0; all_ok && r < nranks; ++r) {
        MPI_Aint seg_size;
        int seg_unit;
        if (PMPI_Win_shared_query(w->ctl_win, r, &seg_size, &seg_unit, &w->t[r].ctl) != MPI_SUCCESS)
            all_ok = 0;
        w->t[r].size = all[r].size;
        w->t[r].disp_unit = (int)all[r].disp_unit;
        w->t[r].mem = r == rank ? own_views(base, all[r].size) : peer_views(&all[r]);
    }
    free(all);
    int added = all_ok && win_registry_add(&registry, w);
    if (added)
        direct_help_register();
    /* Agreed again, and the words are zero everywhere before anyone locks. */
    int agreed = 0;
    PMPI_Allreduce(&added, &agreed, 1, MPI_INT, MPI_MIN, comm);
    if (!agreed) {
        if (added)
            win_registry_remove(&registry, w);
        if (ok)
            PMPI_Win_free(&w->ctl_win);
        direct_win_destroy(w);
    }
}

/* For tests (exported; looked up with dlsym): 1 and the counts when win has
 * a same-host state, else 0. helped: chunks of this rank's copies that their
 * target did (direct_help.c). */
__attribute__((visibility("default"))) int veshm_osc_route_window_stats(MPI_Win win,
                                                                        uint64_t *direct,
                                                                        uint64_t *through_ucx,
                                                                        uint64_t *helped) {
    const struct direct_win *w = direct_win_find(win);
    if (w == NULL)
        return 0;
    *direct = __atomic_load_n(&w->stats.direct, __ATOMIC_RELAXED);
    *through_ucx = __atomic_load_n(&w->stats.through_ucx, __ATOMIC_RELAXED);
    *helped = __atomic_load_n(&w->stats.helped, __ATOMIC_RELAXED);
    return 1;
}

static void report(const struct direct_win *w) {
    const char *e = getenv("VESHM_OSC_DIRECT_STATS");
    if (e == NULL || strcmp(e, "1") != 0)
        return;
    unsigned views = 0;
    for (int r = 0; r < w->size; ++r)
        views += w->t[r].mem.view != NULL;
    fprintf(stderr,
            "osc_route: rank %d window: %u of %d ranks reached directly, %llu operations "
            "direct, %llu through osc/ucx, %llu chunks copied by the target\n",
            w->rank, views, w->size, (unsigned long long)w->stats.direct,
            (unsigned long long)w->stats.through_ucx, (unsigned long long)w->stats.helped);
}

int MPI_Win_free(MPI_Win *win) {
    if (win != NULL)
        host_win_release(*win);
    struct direct_win *w = win != NULL ? direct_win_find(*win) : NULL;
    if (w != NULL) {
        direct_pmpi_close(w);
        report(w);
        win_registry_remove(&registry, w);
        direct_help_quiesce();
        PMPI_Win_free(&w->ctl_win);
        direct_win_destroy(w);
    }
    return PMPI_Win_free(win);
}

int direct_sync_error(MPI_Win win) {
    PMPI_Win_call_errhandler(win, MPI_ERR_RMA_SYNC);
    return MPI_ERR_RMA_SYNC;
}

void direct_progress(void) {
    if (opal_progress != NULL)
        opal_progress();
    else
        sched_yield();
}

int direct_pmpi_epoch(struct direct_win *w, int target) {
    int rc = MPI_SUCCESS;
    direct_count(&w->stats.through_ucx);
    __atomic_store_n(&w->t[target].pmpi_pending, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&w->lock_all, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&w->pmpi_lock_all, __ATOMIC_ACQUIRE))
            return MPI_SUCCESS;
        pthread_mutex_lock(&w->pmpi_mutex);
        if (!w->pmpi_lock_all && (rc = PMPI_Win_lock_all(MPI_MODE_NOCHECK, w->win)) == MPI_SUCCESS)
            __atomic_store_n(&w->pmpi_lock_all, 1, __ATOMIC_RELEASE);
    } else {
        if (__atomic_load_n(&w->t[target].pmpi_locked, __ATOMIC_ACQUIRE))
            return MPI_SUCCESS;
        pthread_mutex_lock(&w->pmpi_mutex);
        if (!w->t[target].pmpi_locked &&
            (rc = PMPI_Win_lock(MPI_LOCK_SHARED, target, MPI_MODE_NOCHECK, w->win)) == MPI_SUCCESS)
            __atomic_store_n(&w->t[target].pmpi_locked, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&w->pmpi_mutex);
    return rc;
}

int direct_pmpi_unlock(struct direct_win *w, int target) {
    struct direct_target *t = &w->t[target];
    int rc = MPI_SUCCESS;
    if (__atomic_load_n(&t->pmpi_locked, __ATOMIC_ACQUIRE)) {
        rc = PMPI_Win_unlock(target, w->win);
        __atomic_store_n(&t->pmpi_locked, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&t->pmpi_pending, 0, __ATOMIC_RELAXED);
    return rc;
}

int direct_pmpi_close(struct direct_win *w) {
    int rc = MPI_SUCCESS;
    for (int r = 0; r < w->size; ++r) {
        int urc = direct_pmpi_unlock(w, r);
        if (rc == MPI_SUCCESS)
            rc = urc;
    }
    return rc;
}

void direct_acc_lock(struct direct_win *w, int target) {
    uint64_t *word = &w->t[target].ctl->acc;
    for (;;) {
        uint64_t expected = 0;
        if (__atomic_compare_exchange_n(word, &expected, (uint64_t)w->rank + 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        /* The holder may be waiting for this rank's progress (an osc/ucx
         * accumulate under the lock is UCP active messages). */
        direct_progress();
    }
}

void direct_acc_unlock(struct direct_win *w, int target) {
    __atomic_store_n(&w->t[target].ctl->acc, 0, __ATOMIC_RELEASE);
}
