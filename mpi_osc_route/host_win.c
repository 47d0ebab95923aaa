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
        uint64_t shared;      /* transfers done here */
        uint64_t helped;      /* chunks of them the target did */
        uint64_t passed;      /* large ones left to osc/rdma whole (pass) */
        uint64_t accumulated; /* accumulates and get_accumulates done here */
    } stats;
    struct veshm_copy_help **slot; /* slot[r]: rank r's, where this process maps it */
    unsigned *pass;                /* pass[r]: large transfers to r still to leave to osc/rdma */
    unsigned char *locked;         /* locked[r]: the MPI_Win_lock epoch towards r open, if any */
    int fenced;                    /* a fence epoch is open */
    struct host_rank t[];
};

/* After a transfer its target did not help with, how many of the next
 * large ones to it go to osc/rdma whole (OSU osu_put_bibw, both ranks
 * origins at once, neither polling: 0.90-0.95x the default path from 256
 * KiB when every one was shared). */
#define HOST_WIN_PASS 7u

/* From here an accumulate or get_accumulate in an exclusive epoch is done
 * here, through the kernel, shared with the target from 128 KiB. osc/rdma
 * (over btl/vader) does it for 1.2 ns a byte on the machine of the figures
 * (osu_get_acc_latency -w create -s flush: 4 KiB 5.8 us, 8 KiB 10.7, 64 KiB
 * 83, 1 MiB 1370); here it is three system calls (a read of the target's
 * bytes for the result, one for the operation, a write back): 7.3, 8.6, 17,
 * 120 us. */
#define HOST_WIN_ACC_MIN (8u * 1024)

/* locked[r] */
enum { HOST_UNLOCKED, HOST_LOCKED_SHARED, HOST_LOCKED_EXCLUSIVE };

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
    /* Nothing to put, get or accumulate. */
    if (largest < HOST_WIN_ACC_MIN) {
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

/* Where target_disp of target_rank's window is, for n bytes: the window's
 * state here and the byte offset, or NULL when win has none or the bytes
 * are not all in the target's window (osc/rdma then answers). */
static struct host_win *host_target(MPI_Win win, int target_rank, MPI_Aint target_disp, size_t n,
                                    uint64_t *off) {
    struct host_win *w = win_registry_find(&registry, win);
    if (w == NULL || target_rank < 0 || target_rank >= w->size || target_rank == w->rank)
        return NULL;
    const struct host_rank *t = &w->t[target_rank];
    if (target_disp < 0 ||
        __builtin_mul_overflow((uint64_t)target_disp, (uint64_t)t->disp_unit, off) ||
        *off > t->size || n > t->size - *off)
        return NULL;
    return w;
}

/* Whether this large operation goes to osc/rdma whole. A target that did
 * not help with the last one is busy elsewhere (an origin itself, computing,
 * or without its core): alone, the origin would make two system calls where
 * osc/rdma makes one, so the next few go to osc/rdma, and then one tries
 * again. */
static int passing(struct host_win *w, int target_rank) {
    if (w->pass[target_rank] == 0)
        return 0;
    --w->pass[target_rank];
    direct_count(&w->stats.passed);
    return 1;
}

/* One job of this origin towards target_rank, shared with it: the chunks
 * it did, or -2 if the kernel refused a copy of the origin's own. */
static int64_t host_job(struct host_win *w, int target_rank, uint64_t off, void *buf, size_t n,
                        int is_get, uint64_t op) {
    const struct host_rank *t = &w->t[target_rank];
    struct veshm_copy_help_job job = {
        (uint8_t *)(uintptr_t)(t->base + off), off, buf, n, is_get, op, 0, 0, (pid_t)t->pid};
    if (!osc_route_help_enabled()) /* only accumulates come here then */
        return veshm_copy_help_do(&job, 0, n, direct_acc_apply) == 0 ? 0 : -2;
    int64_t helped = veshm_copy_help_origin(w->slot[target_rank], (uint64_t)w->rank + 1, &job,
                                            direct_acc_apply, NULL, NULL);
    /* Only a job offered to the target tells whether it helps. */
    if (helped >= 0 && n >= VESHM_COPY_HELP_KERNEL_MIN) {
        w->pass[target_rank] = helped > 0 ? 0 : HOST_WIN_PASS;
        __atomic_store_n(&w->stats.helped, w->stats.helped + (uint64_t)helped, __ATOMIC_RELAXED);
    }
    return helped;
}

static int pmpi_transfer(int is_get, void *origin_addr, int origin_count,
                         MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp,
                         int target_count, MPI_Datatype target_datatype, MPI_Win win) {
    return is_get ? PMPI_Get(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                             target_count, target_datatype, win)
                  : PMPI_Put(origin_addr, origin_count, origin_datatype, target_rank, target_disp,
                             target_count, target_datatype, win);
}

int host_win_transfer(MPI_Win win, int is_get, void *origin_addr, int origin_count,
                      MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp,
                      int target_count, MPI_Datatype target_datatype) {
    if (win_registry_count(&registry) == 0)
        return -1;
    size_t n = osc_route_same_layout(origin_datatype, origin_count, target_datatype, target_count);
    /* What is shared, all but the first element, has to be large enough. */
    if (n < VESHM_COPY_HELP_MIN || n - n / (size_t)origin_count < VESHM_COPY_HELP_KERNEL_MIN ||
        !osc_route_help_enabled())
        return -1;
    uint64_t off;
    struct host_win *w = host_target(win, target_rank, target_disp, n, &off);
    if (w == NULL || passing(w, target_rank))
        return -1;
    /* The first element through osc/rdma, unless the epoch is known: it
     * checks the epoch and, if its lock is taken on demand, takes it before
     * returning. */
    size_t first = 0;
    if (!__atomic_load_n(&w->fenced, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&w->locked[target_rank], __ATOMIC_RELAXED)) {
        first = n / (size_t)origin_count;
        int rc = pmpi_transfer(is_get, origin_addr, 1, origin_datatype, target_rank, target_disp, 1,
                               target_datatype, win);
        if (rc != MPI_SUCCESS)
            return rc;
    }
    if (host_job(w, target_rank, off + first, (uint8_t *)origin_addr + first, n - first, is_get,
                 0) < 0) /* the kernel refused this process: osc/rdma moves it all */
        return pmpi_transfer(is_get, origin_addr, origin_count, origin_datatype, target_rank,
                             target_disp, target_count, target_datatype, win);
    direct_count(&w->stats.shared);
    return MPI_SUCCESS;
}

int host_win_accumulate(MPI_Win win, const void *origin_addr, int origin_count,
                        MPI_Datatype origin_datatype, void *result_addr, int result_count,
                        MPI_Datatype result_datatype, int target_rank, MPI_Aint target_disp,
                        int target_count, MPI_Datatype target_datatype, MPI_Op op) {
    if (win_registry_count(&registry) == 0)
        return -1;
    size_t n = osc_route_same_layout(origin_datatype, origin_count, target_datatype, target_count);
    if (n < HOST_WIN_ACC_MIN ||
        (result_addr != NULL &&
         osc_route_same_layout(result_datatype, result_count, target_datatype, target_count) != n))
        return -1;
    uint64_t code = direct_acc_code(op, target_datatype), off;
    struct host_win *w = code != 0 ? host_target(win, target_rank, target_disp, n, &off) : NULL;
    if (w == NULL ||
        __atomic_load_n(&w->locked[target_rank], __ATOMIC_RELAXED) != HOST_LOCKED_EXCLUSIVE)
        return -1;
    /* osc/rdma's accumulates of this origin that may still be on their way
     * come first (MPI orders accumulates of one origin to one place).
     * osc/rdma 4.1.4 completes them before it returns, even of derived
     * datatypes (the ordering check of tests/mpi/mpi_rma_host.c passes
     * without this flush), which then costs nothing measurable; an MPI that
     * pipelines them needs it. */
    int rc = PMPI_Win_flush(target_rank, win);
    if (rc != MPI_SUCCESS)
        return rc;
    if (result_addr != NULL && host_job(w, target_rank, off, result_addr, n, 1, 0) < 0)
        return PMPI_Get_accumulate(origin_addr, origin_count, origin_datatype, result_addr,
                                   result_count, result_datatype, target_rank, target_disp,
                                   target_count, target_datatype, op, win);
    /* Refused halfway, an accumulate can neither be taken back nor done again. */
    if (host_job(w, target_rank, off, (void *)origin_addr, n, 0, code) < 0)
        return MPI_ERR_OTHER;
    direct_count(&w->stats.accumulated);
    return MPI_SUCCESS;
}

int host_win_synced(MPI_Win win, enum host_sync what, int rank, int mode, int rc) {
    struct host_win *w = win_registry_count(&registry) ? win_registry_find(&registry, win) : NULL;
    if (w == NULL)
        return rc;
    int valid = rank >= 0 && rank < w->size;
    switch (what) {
    case HOST_SYNC_LOCK:
    case HOST_SYNC_LOCK_EXCLUSIVE:
        if (rc == MPI_SUCCESS && valid) {
            __atomic_store_n(&w->fenced, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&w->locked[rank],
                             what == HOST_SYNC_LOCK ? HOST_LOCKED_SHARED : HOST_LOCKED_EXCLUSIVE,
                             __ATOMIC_RELAXED);
        }
        break;
    case HOST_SYNC_UNLOCK:
        if (valid)
            __atomic_store_n(&w->locked[rank], HOST_UNLOCKED, __ATOMIC_RELAXED);
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
            events += veshm_copy_help_serve(w->slot[w->rank], own_window, NULL, direct_acc_apply, w,
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
__attribute__((visibility("default"))) int veshm_osc_route_host_stats(MPI_Win win, uint64_t *shared,
                                                                      uint64_t *helped,
                                                                      uint64_t *passed,
                                                                      uint64_t *accumulated) {
    const struct host_win *w = win_registry_find(&registry, win);
    if (w == NULL)
        return 0;
    *shared = __atomic_load_n(&w->stats.shared, __ATOMIC_RELAXED);
    *helped = __atomic_load_n(&w->stats.helped, __ATOMIC_RELAXED);
    *passed = __atomic_load_n(&w->stats.passed, __ATOMIC_RELAXED);
    *accumulated = __atomic_load_n(&w->stats.accumulated, __ATOMIC_RELAXED);
    return 1;
}
