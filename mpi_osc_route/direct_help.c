/* Large puts and gets of the same-host path, copied by two cores when the
 * target rank is inside MPI (core/wire/copy_help.h): the help slot of each
 * rank is in the window's shared segment, the target helps from
 * opal_progress, between its own window and the origin's buffer. Large
 * accumulates of predefined operations and types are shared the same way,
 * under the accumulate lock the origin holds, and so are both halves of a
 * get_accumulate (a get, then an accumulate). */
#include "direct_win.h"
#include "host_win.h"
#include "osc_route.h"
#include "osc_route_weak.h"

#include <sched.h>
#include <string.h>

#include "copy_help.h"

#pragma weak opal_progress_register
extern int opal_progress_register(int (*cb)(void));

/* Whether n bytes are worth the target's help: the size first (every
 * operation asks), then the setting, and only then the kernel's cost (the
 * target reaches the origin's buffer, private memory, through the kernel),
 * which with the help off is not even measured (0.5 ms in a first transfer). */
static int help_wanted(size_t n) {
    return n >= VESHM_COPY_HELP_MIN && osc_route_help_enabled() &&
           veshm_copy_help_kernel_helper_wanted(n);
}

/* A rank that moves large data of its own through its views (both ranks
 * putting into each other's VE-memory windows in one epoch, as osu_put_bibw
 * does) helps no peer's such window until OWN_QUIET_NS after its last such
 * transfer: the peer's jobs then come while its own are ending, and their
 * help stalled on this VM (under strace, process_vm_readv calls of at most
 * 128 KiB took up to 1.3 ms), the origin waiting for its chunks.
 * contrib/bench/mpi-exchange, 64 puts of 1 MiB each way per fence epoch, 800
 * epochs a mode: both ranks helping, 0.94 of the default path's bandwidth (4
 * MiB: 0.89), 99th percentile 12.7 ms; with this rule 1.05 and 1.01.
 * Alternating the two builds: mean epoch 5.76 ms, 99th percentile 24,
 * longest 142, against 4.30, 7.7 and 15 (copying alone 3.93, 6.6, 11). A
 * target that moves nothing of its own, the usual one-sided pattern, helps
 * as before; 10 ms is longer than such an epoch. Windows over host memory
 * keep helping both ways: there both ranks copy through the kernel alike,
 * and osu_put_bibw -w create was 1.05-1.27x the default path at 512 KiB-4
 * MiB with the help; the rule applied to them showed no gain (1 MiB: 13.0k
 * MB/s against 17.6k and 15.1k without, two sets of 4-5 runs each spreading
 * as much). */
#define OWN_QUIET_NS 10000000ull

/* veshm_copy_help_ns() until which this rank does not help (0: it helps). */
static uint64_t own_quiet_until;

static void own_transfer(void) {
    __atomic_store_n(&own_quiet_until, (uint64_t)veshm_copy_help_ns() + OWN_QUIET_NS,
                     __ATOMIC_RELAXED);
}

/* Whether this rank moved large data of its own less than OWN_QUIET_NS ago.
 * One load while it has not: the clock only in the while after one. */
static int own_transfer_recent(void) {
    uint64_t until = __atomic_load_n(&own_quiet_until, __ATOMIC_RELAXED);
    if (until == 0)
        return 0;
    if ((uint64_t)veshm_copy_help_ns() < until)
        return 1;
    /* Racy against a transfer of another thread: it then helps early once. */
    __atomic_store_n(&own_quiet_until, 0, __ATOMIC_RELAXED);
    return 0;
}

void direct_copy(struct direct_win *w, int target, uint8_t *view, uint64_t offset, void *buf,
                 size_t n, int is_get) {
    struct veshm_copy_help_job job = {view, offset, buf, n, is_get, 0, 0, 0, 0};
    if (w->t[target].ctl == NULL || target == w->rank || !help_wanted(n)) {
        veshm_copy_help_do(&job, 0, n, NULL);
        return;
    }
    own_transfer();
    int64_t helped = veshm_copy_help_origin(&w->t[target].ctl->help, (uint64_t)w->rank + 1, &job,
                                            NULL, NULL, NULL);
    __atomic_store_n(&w->stats.helped, w->stats.helped + (uint64_t)helped, __ATOMIC_RELAXED);
}

/* The accumulates two ranks can share: predefined operations and types that
 * are valid together, named by their places in these lists (a handle is an
 * address in each process's own libmpi). */
static int acc_ops(MPI_Op *ops) {
    MPI_Op all[] = {MPI_SUM, MPI_PROD, MPI_MAX, MPI_MIN, MPI_REPLACE};
    memcpy(ops, all, sizeof(all));
    return (int)(sizeof(all) / sizeof(all[0]));
}

static int acc_types(MPI_Datatype *types) {
    MPI_Datatype all[] = {MPI_CHAR,
                          MPI_SIGNED_CHAR,
                          MPI_UNSIGNED_CHAR,
                          MPI_SHORT,
                          MPI_UNSIGNED_SHORT,
                          MPI_INT,
                          MPI_UNSIGNED,
                          MPI_LONG,
                          MPI_UNSIGNED_LONG,
                          MPI_LONG_LONG,
                          MPI_UNSIGNED_LONG_LONG,
                          MPI_FLOAT,
                          MPI_DOUBLE,
                          MPI_INT8_T,
                          MPI_UINT8_T,
                          MPI_INT16_T,
                          MPI_UINT16_T,
                          MPI_INT32_T,
                          MPI_UINT32_T,
                          MPI_INT64_T,
                          MPI_UINT64_T};
    memcpy(types, all, sizeof(all));
    return (int)(sizeof(all) / sizeof(all[0]));
}

uint64_t direct_acc_code(MPI_Op op, MPI_Datatype dt) {
    MPI_Op ops[8];
    MPI_Datatype types[32];
    int nops = acc_ops(ops), ntypes = acc_types(types), o = 0, t = 0;
    while (o < nops && ops[o] != op)
        ++o;
    while (t < ntypes && types[t] != dt)
        ++t;
    return o < nops && t < ntypes ? (uint64_t)(t + 1) << 8 | (uint64_t)(o + 1) : 0;
}

int direct_acc_apply(uint64_t code, uint8_t *dst, const uint8_t *src, size_t n) {
    MPI_Op ops[8];
    MPI_Datatype types[32];
    uint64_t o = code & 0xff, t = code >> 8;
    if (o == 0 || o > (uint64_t)acc_ops(ops) || t == 0 || t > (uint64_t)acc_types(types))
        return -1;
    if (n == 0)
        return 0;
    int size = 0;
    if (PMPI_Type_size(types[t - 1], &size) != MPI_SUCCESS || size <= 0)
        return -1;
    if (ops[o - 1] == MPI_REPLACE)
        memmove(dst, src, n);
    else
        PMPI_Reduce_local(src, dst, (int)(n / (size_t)size), types[t - 1], ops[o - 1]);
    return 0;
}

int direct_accumulate_helped(struct direct_win *w, int target, uint8_t *view, uint64_t offset,
                             const void *origin, MPI_Datatype dt, MPI_Op op, size_t n) {
    if (!help_wanted(n) || w->t[target].ctl == NULL || target == w->rank)
        return 0;
    uint64_t code = direct_acc_code(op, dt);
    if (code == 0)
        return 0;
    own_transfer();
    struct veshm_copy_help_job job = {view, offset, (void *)origin, n, 0, code, 0, 0, 0};
    int64_t helped = veshm_copy_help_origin(&w->t[target].ctl->help, (uint64_t)w->rank + 1, &job,
                                            direct_acc_apply, NULL, NULL);
    __atomic_store_n(&w->stats.helped, w->stats.helped + (uint64_t)helped, __ATOMIC_RELAXED);
    return 1;
}

/* The job's place in this rank's window, if the window holds it whole. */
static uint8_t *own_window(void *arg, uint64_t offset, uint64_t len) {
    struct direct_win *w = arg;
    if (offset > w->t[w->rank].size || len > w->t[w->rank].size - offset)
        return NULL;
    return w->t[w->rank].mem.view[0] + offset;
}

/* This rank's part of a job in its own slot of w. */
static int help(struct direct_win *w) {
    if (w->help_off || w->t[w->rank].mem.view == NULL)
        return 0;
    return veshm_copy_help_serve(&w->t[w->rank].ctl->help, own_window, NULL, direct_acc_apply, w,
                                 &w->help_off, &w->help_served);
}

/* Progress callbacks running now, in any thread (direct_help_quiesce). */
static int helping;

/* Whether a window may be freed while another thread's progress callback
 * helps it: only with MPI_THREAD_MULTIPLE (a free and opal_progress are
 * otherwise never at the same time). Below that level the callback does not
 * announce itself: the two locked instructions and the fence that doing so
 * takes were 94% of its time, and it runs in every poll of every MPI wait. */
static int concurrent_free = 1;

static int help_all(void) {
    int events = host_win_help_all();
    if (own_transfer_recent())
        return events;
    unsigned count = direct_win_count();
    for (unsigned i = 0; i < count; ++i) {
        struct direct_win *w = direct_win_at(i);
        if (w != NULL)
            events += help(w);
    }
    return events;
}

/* Called by every opal_progress: only a rank inside MPI helps. */
static int help_progress(void) {
    if (!__atomic_load_n(&concurrent_free, __ATOMIC_RELAXED))
        return help_all();
    __atomic_fetch_add(&helping, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* before reading the registry */
    int events = help_all();
    __atomic_fetch_sub(&helping, 1, __ATOMIC_SEQ_CST);
    return events;
}

void direct_help_quiesce(void) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the registry slot cleared first */
    while (__atomic_load_n(&helping, __ATOMIC_SEQ_CST) != 0)
        sched_yield();
}

void direct_help_register(void) {
    static int registered;
    if (!osc_route_help_enabled())
        return;
    /* Measured now, at the window's creation: in a process's first large
     * transfer the measurement's fresh pages cost 0.5 ms on a VM with shadow
     * paging. */
    (void)veshm_copy_help_kernel_helper_min();
    if (__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL) || opal_progress_register == NULL)
        return;
    int level = MPI_THREAD_MULTIPLE;
    if (PMPI_Query_thread(&level) != MPI_SUCCESS)
        level = MPI_THREAD_MULTIPLE;
    __atomic_store_n(&concurrent_free, level == MPI_THREAD_MULTIPLE, __ATOMIC_RELAXED);
    opal_progress_register(help_progress);
}
