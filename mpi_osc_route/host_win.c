/* Large puts and gets of same-host windows over host memory, shared with the
 * target (host_win.h). */
#include "host_win.h"
#include "direct_win.h"
#include "osc_route.h"
#include "osc_route_weak.h"
#include "win_registry.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "copy_help.h"

/* A rank's window as the other ranks need it. */
struct host_rank {
    int64_t pid;
    uint64_t base;
    uint64_t size;
    int64_t disp_unit;
};

struct host_win {
    MPI_Win win;      /* first: win_registry.h */
    MPI_Win slot_win; /* the help slots, one per rank (osc/sm) */
    int rank, size;
    int help_off;         /* the kernel refused to reach an origin: this rank helps no more */
    uint64_t help_served; /* the last job of this rank's slot it served */
    struct {
        uint64_t shared; /* transfers done here */
        uint64_t helped; /* chunks of them the target did */
        uint64_t passed; /* large ones left to osc/rdma whole (pass) */
    } stats;
    struct veshm_copy_help **slot; /* slot[r]: rank r's, where this process maps it */
    unsigned *pass;                /* pass[r]: large transfers to r still to leave to osc/rdma */
    unsigned char *locked;         /* locked[r]: an MPI_Win_lock epoch towards r is open */
    int fenced;                    /* a fence epoch is open */
    struct host_rank t[];
};

/* After a transfer its target did not help with, how many of the next
 * large ones to it go to osc/rdma whole (OSU osu_put_bibw, both ranks
 * origins at once, neither polling: 0.90-0.95x the default path from 256
 * KiB when every one was shared). */
#define HOST_WIN_PASS 7u

static struct win_registry registry = WIN_REGISTRY_INIT;
_Static_assert(offsetof(struct host_win, win) == 0, "win_registry.h finds a window by it");

static void destroy(struct host_win *w) {
    if (w != NULL) {
        free(w->slot);
        free(w->pass);
        free(w->locked);
    }
    free(w);
}

/* Whether the kernel lets this process copy from every other rank's window
 * (what vader's single copy needs too; a ptrace scope may forbid it). */
static int kernel_reaches(const struct host_win *w) {
    for (int r = 0; r < w->size; ++r) {
        if (r == w->rank || w->t[r].size == 0)
            continue;
        char byte;
        struct iovec local = {&byte, 1}, peer = {(void *)(uintptr_t)w->t[r].base, 1};
        if (process_vm_readv((pid_t)w->t[r].pid, &local, 1, &peer, 1, 0) != 1)
            return 0;
    }
    return 1;
}

void host_win_setup(MPI_Win win, MPI_Comm comm, void *base, MPI_Aint size, int disp_unit) {
    if (!osc_route_direct_enabled() || !osc_route_one_host(comm))
        return;
    int rank, nranks;
    PMPI_Comm_rank(comm, &rank);
    PMPI_Comm_size(comm, &nranks);
    struct host_win *w = calloc(1, sizeof(*w) + (size_t)nranks * sizeof(w->t[0]));
    if (w != NULL && ((w->slot = calloc((size_t)nranks, sizeof(*w->slot))) == NULL ||
                      (w->pass = calloc((size_t)nranks, sizeof(*w->pass))) == NULL ||
                      (w->locked = calloc((size_t)nranks, sizeof(*w->locked))) == NULL)) {
        destroy(w);
        w = NULL;
    }
    struct host_rank me = {getpid(), (uint64_t)(uintptr_t)base, (uint64_t)(size > 0 ? size : 0),
                           disp_unit};
    /* Every rank learns every window, from a dummy when it has no memory
     * for its own state: all take the same way from here. */
    struct host_rank *all = w != NULL ? w->t : calloc((size_t)nranks, sizeof(*all));
    int ok = all != NULL, all_ok = 0;
    PMPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok ||
        PMPI_Allgather(&me, sizeof(me), MPI_BYTE, all, sizeof(me), MPI_BYTE, comm) != MPI_SUCCESS) {
        if (w == NULL)
            free(all);
        destroy(w);
        return;
    }
    uint64_t largest = 0;
    for (int r = 0; r < nranks; ++r)
        largest = all[r].size > largest ? all[r].size : largest;
    if (w == NULL)
        free(all);
    /* No transfer of this window can be large enough to share. */
    if (largest < VESHM_COPY_HELP_MIN) {
        destroy(w);
        return;
    }
    struct veshm_copy_help *mine = NULL;
    if (PMPI_Win_allocate_shared((MPI_Aint)sizeof(*mine), 64, MPI_INFO_NULL, comm, &mine,
                                 &w->slot_win) != MPI_SUCCESS) {
        destroy(w);
        return;
    }
    memset(mine, 0, sizeof(*mine));
    w->win = win;
    w->rank = rank;
    w->size = nranks;
    ok = kernel_reaches(w);
    for (int r = 0; ok && r < nranks; ++r) {
        MPI_Aint seg_size;
        int seg_unit;
        ok = PMPI_Win_shared_query(w->slot_win, r, &seg_size, &seg_unit, &w->slot[r]) ==
                 MPI_SUCCESS &&
             w->slot[r] != NULL;
    }
    ok = ok && win_registry_add(&registry, w);
    /* Agreed, and every slot is zero before anyone publishes. */
    PMPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (all_ok) {
        direct_help_register();
        return;
    }
    if (ok)
        win_registry_remove(&registry, w);
    PMPI_Win_free(&w->slot_win);
    destroy(w);
}

int host_win_transfer(MPI_Win win, int is_get, void *origin_addr, int origin_count,
                      MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp,
                      int target_count, MPI_Datatype target_datatype) {
    if (win_registry_count(&registry) == 0)
        return -1;
    size_t n = osc_route_same_layout(origin_datatype, origin_count, target_datatype, target_count);
    /* What is shared, all but the first element, has to be large enough. */
    if (n < VESHM_COPY_HELP_MIN || n - n / (size_t)origin_count < VESHM_COPY_HELP_KERNEL_MIN)
        return -1;
    struct host_win *w = win_registry_find(&registry, win);
    if (w == NULL || target_rank < 0 || target_rank >= w->size || target_rank == w->rank)
        return -1;
    const struct host_rank *t = &w->t[target_rank];
    uint64_t off;
    if (target_disp < 0 ||
        __builtin_mul_overflow((uint64_t)target_disp, (uint64_t)t->disp_unit, &off) ||
        off > t->size || n > t->size - off)
        return -1;
    /* A target that did not help with the last one is busy elsewhere (an
     * origin itself, computing, or without its core): alone, the origin would
     * make two system calls where osc/rdma makes one, so the next few go to
     * osc/rdma whole, and then one tries again. */
    if (w->pass[target_rank] > 0) {
        --w->pass[target_rank];
        direct_count(&w->stats.passed);
        return -1;
    }
    /* The first element through osc/rdma, unless the epoch is known: it
     * checks the epoch and, if its lock is taken on demand, takes it before
     * returning. */
    size_t first = 0;
    int rc = MPI_SUCCESS;
    if (!__atomic_load_n(&w->fenced, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&w->locked[target_rank], __ATOMIC_RELAXED)) {
        first = n / (size_t)origin_count;
        rc = is_get ? PMPI_Get(origin_addr, 1, origin_datatype, target_rank, target_disp, 1,
                               target_datatype, win)
                    : PMPI_Put(origin_addr, 1, origin_datatype, target_rank, target_disp, 1,
                               target_datatype, win);
    }
    if (rc != MPI_SUCCESS)
        return rc;
    struct veshm_copy_help_job job = {(uint8_t *)(uintptr_t)(t->base + off + first),
                                      off + first,
                                      (uint8_t *)origin_addr + first,
                                      n - first,
                                      is_get,
                                      0,
                                      0,
                                      0,
                                      (pid_t)t->pid};
    int64_t helped =
        veshm_copy_help_origin(w->slot[target_rank], (uint64_t)w->rank + 1, &job, NULL, NULL, NULL);
    if (helped < 0) /* the kernel refused this process: osc/rdma moves it all */
        return is_get ? PMPI_Get(origin_addr, origin_count, origin_datatype, target_rank,
                                 target_disp, target_count, target_datatype, win)
                      : PMPI_Put(origin_addr, origin_count, origin_datatype, target_rank,
                                 target_disp, target_count, target_datatype, win);
    w->pass[target_rank] = helped > 0 ? 0 : HOST_WIN_PASS;
    direct_count(&w->stats.shared);
    __atomic_store_n(&w->stats.helped, w->stats.helped + (uint64_t)helped, __ATOMIC_RELAXED);
    return MPI_SUCCESS;
}

int host_win_synced(MPI_Win win, enum host_sync what, int rank, int mode, int rc) {
    struct host_win *w = win_registry_count(&registry) ? win_registry_find(&registry, win) : NULL;
    if (w == NULL)
        return rc;
    int valid = rank >= 0 && rank < w->size;
    switch (what) {
    case HOST_SYNC_LOCK:
        if (rc == MPI_SUCCESS && valid) {
            __atomic_store_n(&w->fenced, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&w->locked[rank], 1, __ATOMIC_RELAXED);
        }
        break;
    case HOST_SYNC_UNLOCK:
        if (valid)
            __atomic_store_n(&w->locked[rank], 0, __ATOMIC_RELAXED);
        break;
    case HOST_SYNC_FENCE:
        __atomic_store_n(&w->fenced, rc == MPI_SUCCESS && (mode & MPI_MODE_NOSUCCEED) == 0,
                         __ATOMIC_RELAXED);
        break;
    case HOST_SYNC_OTHER_EPOCH:
        __atomic_store_n(&w->fenced, 0, __ATOMIC_RELAXED);
        break;
    }
    return rc;
}

/* The job's place in this rank's window, if the window holds it whole. */
static uint8_t *own_window(void *arg, uint64_t offset, uint64_t len) {
    const struct host_win *w = arg;
    const struct host_rank *me = &w->t[w->rank];
    if (offset > me->size || len > me->size - offset)
        return NULL;
    return (uint8_t *)(uintptr_t)me->base + offset;
}

int host_win_help_all(void) {
    int events = 0;
    unsigned count = win_registry_count(&registry);
    for (unsigned i = 0; i < count; ++i) {
        struct host_win *w = win_registry_at(&registry, i);
        if (w != NULL && !w->help_off)
            events += veshm_copy_help_serve(w->slot[w->rank], own_window, NULL, NULL, w,
                                            &w->help_off, &w->help_served);
    }
    return events;
}

void host_win_release(MPI_Win win) {
    struct host_win *w = win_registry_count(&registry) ? win_registry_find(&registry, win) : NULL;
    if (w == NULL)
        return;
    win_registry_remove(&registry, w);
    direct_help_quiesce();
    PMPI_Win_free(&w->slot_win);
    destroy(w);
}

/* For tests (exported; looked up with dlsym): 1 and the counts when win's
 * large transfers are shared here, else 0. */
__attribute__((visibility("default"))) int
veshm_osc_route_host_stats(MPI_Win win, uint64_t *shared, uint64_t *helped, uint64_t *passed) {
    const struct host_win *w = win_registry_find(&registry, win);
    if (w == NULL)
        return 0;
    *shared = __atomic_load_n(&w->stats.shared, __ATOMIC_RELAXED);
    *helped = __atomic_load_n(&w->stats.helped, __ATOMIC_RELAXED);
    *passed = __atomic_load_n(&w->stats.passed, __ATOMIC_RELAXED);
    return 1;
}
