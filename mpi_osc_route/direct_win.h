/* The same-host path of osc/ucx windows (docs/MPI_ROUTING.md, "Same-host
 * windows").
 *
 * Open MPI 4.1.4's osc/ucx keeps its lock and accumulate-lock words in host
 * memory no transport reaches, so UCP runs every lock, accumulate and atomic
 * as active messages the target executes when it next progresses: 2 us and
 * more where Open MPI's default path (osc/rdma over shared memory) takes one
 * CPU atomic. When all ranks of a window are on this host, this library
 * instead keeps the window's lock words in a shared-memory segment of its own
 * (an osc/sm window beside it) and reaches the other ranks' window memory
 * through veshm's host views of it (uct_veshm_peer_view: the areas osc/ucx's
 * keys attached). In passive-target epochs, locks are CPU atomics on those
 * words, and contiguous puts, gets, accumulates and atomics (request-based
 * ones too) are loads and stores through the views, accumulates under the
 * window's accumulate lock. Post-start-complete-wait is counters in the same
 * segment (direct_pscw.c), a fence is a barrier of its own (direct_sync.c),
 * and the access epochs they open are carried like passive ones. What it
 * cannot do that way (derived datatypes, a target without a view) goes to
 * osc/ucx as before, inside a passive epoch opened for osc/ucx on first need
 * (MPI_MODE_NOCHECK: the lock itself is ours) and, for accumulates, under the
 * same accumulate lock. Copies of 1 MiB and more are shared with the target
 * when it polls inside MPI (direct_help.c). */
#ifndef VESHM_DIRECT_WIN_H
#define VESHM_DIRECT_WIN_H

#include <mpi.h>
#include <pthread.h>
#include <stdint.h>

#include "copy_help.h"

/* One per rank, in the shared segment, followed by its posts[] (one counter
 * per rank of the window). */
struct direct_ctl {
    uint64_t lock;               /* passive-target lock: shared holders, plus DIRECT_LOCK_EXCL */
    uint64_t acc;                /* accumulate lock: 0 free, else holder's rank + 1 */
    uint64_t completes;          /* MPI_Win_complete calls of access epochs to this rank */
    char pad[40];                /* the words above in a cache line of their own */
    struct veshm_copy_help help; /* large copies to this rank (direct_help.c) */
    uint64_t posts[];            /* posts[r]: MPI_Win_post calls of rank r exposing to this rank */
};

/* Bytes of one rank's part of the segment, whole cache lines. */
static inline size_t direct_ctl_bytes(int nranks) {
    return (sizeof(struct direct_ctl) + (size_t)nranks * sizeof(uint64_t) + 63) & ~(size_t)63;
}

#define DIRECT_LOCK_EXCL (1ull << 62)

/* This rank's access epoch towards a target, as opened through MPI_Win_lock,
 * or through MPI_Win_start (DIRECT_PSCW). */
enum direct_lock { DIRECT_UNLOCKED, DIRECT_SHARED, DIRECT_EXCLUSIVE, DIRECT_NOCHECK, DIRECT_PSCW };

/* A target's window memory as this process reaches it: one view per VESHM
 * area it spans (areas are attached, and mapped, one by one). Offsets below
 * first_len are in view[0], the others in view[1 + (off - first_len) /
 * area_len]. */
struct direct_views {
    uint8_t **view; /* NULL: the target is reached through osc/ucx */
    uint64_t first_len, area_len;
};

struct direct_target {
    struct direct_views mem;
    uint64_t size;
    int disp_unit;
    struct direct_ctl *ctl;
    int lock;            /* enum direct_lock (atomic: other threads read it) */
    int pmpi_locked;     /* osc/ucx has a passive epoch towards it */
    int pmpi_pending;    /* osc/ucx operations towards it since its last flush */
    uint64_t posts_seen; /* its posts to this rank that an MPI_Win_start consumed */
};

struct direct_win {
    MPI_Win win, ctl_win; /* win first: win_registry.h */
    int rank, size;
    int lock_all;      /* an MPI_Win_lock_all epoch is open: 1, or 2 with NOCHECK */
    int pmpi_lock_all; /* osc/ucx has the lock_all epoch too */
    int fence;         /* a fence opened an epoch (MPI_Win_fence without NOSUCCEED) */
    MPI_Comm comm;     /* a duplicate of the window's, for the fence's barrier */
    int has_comm;
    int help_off;               /* process_vm_readv/writev refused: this rank helps no more */
    uint64_t help_served;       /* the last job of this rank's slot it served (copy_help.h) */
    int access;                 /* an MPI_Win_start epoch is open */
    int exposed;                /* origins of the open MPI_Win_post epoch, -1 without one */
    uint64_t completes_seen;    /* completes of earlier exposure epochs */
    MPI_Group group;            /* the window's, to translate PSCW groups */
    int *group_scratch;         /* 2 x size ranks, for that */
    unsigned flushes;           /* for the occasional progress call (direct_sync.c) */
    pthread_mutex_t pmpi_mutex; /* opening osc/ucx's epochs */
    struct {
        uint64_t direct, through_ucx; /* operations each way, for tests */
        uint64_t helped;              /* chunks of this rank's copies the target did */
    } stats;
    struct direct_target t[];
};

/* The same-host state of win, or NULL when it has none (not on osc/ucx, ranks
 * on other hosts, or VESHM_OSC_DIRECT=0). Called on every operation. */
struct direct_win *direct_win_find(MPI_Win win);

/* The windows with a same-host state, for the progress callback: slots
 * 0..count-1, NULL where a window was freed. */
unsigned direct_win_count(void);
struct direct_win *direct_win_at(unsigned i);

/* Copies n bytes between buf and view (target's memory at offset of its
 * window), with the target's help when it is large (direct_help.c). */
void direct_copy(struct direct_win *w, int target, uint8_t *view, uint64_t offset, void *buf,
                 size_t n, int is_get);

/* An accumulate of n bytes of origin into view (target's memory at offset of
 * its window) with the target's help: 1 if done so, 0 if the caller must do
 * it alone (too small, or not a predefined operation and type to share). The
 * caller holds the accumulate lock. */
int direct_accumulate_helped(struct direct_win *w, int target, uint8_t *view, uint64_t offset,
                             const void *origin, MPI_Datatype dt, MPI_Op op, size_t n);

/* The code of op on dt, a predefined operation and type two ranks can share
 * an accumulate of (the same code in both processes), or 0. */
uint64_t direct_acc_code(MPI_Op op, MPI_Datatype dt);

/* veshm_copy_help_apply_fn of those codes: dst = src op dst. */
int direct_acc_apply(uint64_t code, uint8_t *dst, const uint8_t *src, size_t n);

/* From here a get_accumulate shares its two halves with the target. Each
 * half is split where the two cores' claims meet, which moves from one to
 * the next; below this size a window, a result and an operand fit in one
 * core's L2 (2 MiB here), and the lines that cross to the other core each
 * time cost more than its half saves. osu_get_acc_latency (flush) at 512
 * KiB: 30-32 us shared, 20-24 alone (the default path 21-22); at 256 KiB
 * 8.9 and 9.3-10.3; at 1 MiB 44-48 and 91-96. Sharing only one half was
 * worst at every size (256 KiB: 24-28 us). */
#define DIRECT_GET_ACC_HELP_MIN ((size_t)1 << 20)

/* Makes every opal_progress of this process help copy (once). */
void direct_help_register(void);

/* Waits until no thread's progress callback can still hold a window taken
 * out of the registry (with MPI_THREAD_MULTIPLE another thread may be
 * helping while this one frees the window). */
void direct_help_quiesce(void);

/* After an osc/ucx window was created (collective over comm). Windows of
 * MPI_Win_create_dynamic have no base: not given here. */
void direct_win_setup(MPI_Win win, MPI_Comm comm, void *base, MPI_Aint size, int disp_unit);

/* Whether this rank has a passive-target epoch, a PSCW access epoch or a
 * fence epoch towards target open: operations may go straight to its memory
 * (every rank has passed the fence's barrier, or target has posted). */
static inline int direct_in_epoch(const struct direct_win *w, int target) {
    return __atomic_load_n(&w->lock_all, __ATOMIC_RELAXED) ||
           __atomic_load_n(&w->fence, __ATOMIC_RELAXED) ||
           __atomic_load_n(&w->t[target].lock, __ATOMIC_RELAXED) != DIRECT_UNLOCKED;
}

/* Counts an operation; exact with one thread per window (relaxed, no
 * read-modify-write on the fast path). */
static inline void direct_count(uint64_t *counter) {
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Makes sure osc/ucx has a passive epoch towards target (NOCHECK: the lock
 * is held through the shared words already) and notes an operation for the
 * next flush. Call in a passive epoch only. */
int direct_pmpi_epoch(struct direct_win *w, int target);

/* Closes the passive epoch opened for osc/ucx towards target, if any
 * (completing its operations there): at unlock and at complete. */
int direct_pmpi_unlock(struct direct_win *w, int target);

/* The same towards every target: at a fence, when a lock_all or a PSCW epoch
 * ends a fence epoch, and before the window is freed. */
int direct_pmpi_close(struct direct_win *w);

/* The window's accumulate lock at target (spins, progressing MPI). */
void direct_acc_lock(struct direct_win *w, int target);
void direct_acc_unlock(struct direct_win *w, int target);

/* MPI_ERR_RMA_SYNC, through the window's error handler. */
int direct_sync_error(MPI_Win win);

/* Lets MPI progress (Open MPI's opal_progress) while spinning. */
void direct_progress(void);

#endif
