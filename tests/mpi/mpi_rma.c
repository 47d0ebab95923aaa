/* MPI one-sided communication, end to end, on one window flavor:
 *   mpi_rma allocate|create|create_ve|dynamic [max_bytes]
 * allocate: MPI_Win_allocate (VE memory when run over veshm with Open MPI),
 * create:   MPI_Win_create on malloc'ed host memory,
 * create_ve: MPI_Win_create on VE memory the program allocates itself
 *           (needs the veshm module loaded, which brings libveo),
 * dynamic:  MPI_Win_create_dynamic + MPI_Win_attach of host memory.
 * Every operation the window supports is checked byte for byte, including
 * the bytes around each target range that must stay untouched. Any failure
 * aborts the whole job with a message naming rank, phase and offset. */
#include <mpi.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_fail.h"
#include "ve_memory_alloc.h"
#include "ve_memory_probe.h"

enum flavor { FLAVOR_ALLOCATE, FLAVOR_CREATE, FLAVOR_CREATE_VE, FLAVOR_DYNAMIC };

#define MIB ((size_t)1 << 20)
#define GUARD 256     /* bytes checked on each side of a target range */
#define XFER_OFF 4096 /* contiguous transfers start here (plus a small skew) */
#define SLACK (64 * 1024)
#define SENT 0x5a /* what untouched bytes hold */
#define SENT32 0x5a5a5a5a

/* Largest transfer on host-memory windows (create, dynamic) unless given on
 * the command line. Not a limit of veshm. Open MPI 4.1.4's osc/ucx reaches
 * malloc'ed window memory, which no UCX transport can register, through
 * UCP 1.13.1's software RMA emulation (active messages over posix/sysv).
 * Epochs that osc/ucx closes with ucp_worker_flush (fence, PSCW complete,
 * unlock_all, flush_all) do not wait for those emulated operations: large
 * puts and gets, and datatypes made of many pieces, were seen incomplete
 * after the epoch, with and without veshm loaded. MPI_Win_unlock(target) /
 * MPI_Win_flush(target) use ucp_ep_flush and are reliable. So host windows
 * get one active-message fragment per operation, and derived datatypes
 * under lock. */
#define HOST_WINDOW_MAX 4000

static int rank, nranks, left, right;
static enum flavor flavor;
static const char *flavor_name;
static const char *phase = "init";
static MPI_Win win;
static uint8_t *winbuf; /* this rank's window memory */
static size_t win_size;
static size_t max_xfer;
static MPI_Aint *bases; /* dynamic windows: address of each rank's region */
static uint8_t *obuf, *rbuf;
static MPI_Group world_group, g_left, g_right;
static struct ve_window_memory ve_window;

/* Windows whose memory a UCX memory domain can register (VE memory over
 * veshm): no limits of UCP's software RMA emulation apply to them. */
static int registered_window(void) {
    return flavor == FLAVOR_ALLOCATE || flavor == FLAVOR_CREATE_VE;
}

static void fail(const char *fmt, ...) {
    char who[64];
    snprintf(who, sizeof(who), "mpi_rma %s", flavor_name);
    va_list ap;
    va_start(ap, fmt);
    mpi_fail_v(who, rank, nranks, phase, fmt, ap);
}

/* A byte pattern that depends on the owner, a tag and the absolute index, so
 * that a shifted, stale or foreign copy never passes for the right one. It is
 * made of 64-bit words (little endian) so that 64 MiB are filled and checked
 * in a few milliseconds. */
static inline uint64_t pat_word(int owner, unsigned tag, size_t w) {
    uint64_t x = (uint64_t)w * 0x9e3779b97f4a7c15ull ^ ((uint64_t)owner << 40) ^
                 ((uint64_t)tag << 20) ^ 0x1234567ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return x;
}

static inline uint8_t pat(int owner, unsigned tag, size_t i) {
    return (uint8_t)(pat_word(owner, tag, i / 8) >> (8 * (i % 8)));
}

static void fill(uint8_t *p, size_t n, int owner, unsigned tag) {
    for (size_t w = 0; w * 8 < n; w++) {
        uint64_t x = pat_word(owner, tag, w);
        memcpy(p + w * 8, &x, n - w * 8 < 8 ? n - w * 8 : 8);
    }
}

static void expect_pat(const uint8_t *p, size_t n, int owner, unsigned tag, const char *what) {
    for (size_t w = 0; w * 8 < n; w++) {
        uint64_t x = pat_word(owner, tag, w);
        if (memcmp(p + w * 8, &x, n - w * 8 < 8 ? n - w * 8 : 8) == 0)
            continue;
        for (size_t i = w * 8; i < n; i++)
            if (p[i] != pat(owner, tag, i))
                fail("%s: byte %zu of %zu is 0x%02x, expected 0x%02x (data of rank %d)", what, i, n,
                     p[i], pat(owner, tag, i), owner);
    }
}

static void expect_byte(const uint8_t *p, size_t n, uint8_t v, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            fail("%s: byte %zu of %zu is 0x%02x, expected untouched 0x%02x", what, i, n, p[i], v);
}

static int32_t val32(int owner, unsigned tag, size_t i) {
    return (int32_t)(((uint32_t)owner << 24) ^ ((uint32_t)i * 2654435761u) ^ (tag << 8)) &
           0x7fffffff;
}

/* Target displacement of byte offset off in target's window. */
static MPI_Aint tdisp(int target, size_t off) {
    if (flavor == FLAVOR_DYNAMIC)
        return MPI_Aint_add(bases[target], (MPI_Aint)off);
    return (MPI_Aint)off;
}

/* Local reads and writes of window memory during passive-target phases. */
/* A fence that does not end with MPI_MODE_NOSUCCEED opens a new fence epoch,
 * and Open MPI then refuses lock and PSCW calls: close every fence sequence. */
static void fence_open(void) {
    MPI_CHECK(MPI_Win_fence(0, win));
}
static void fence_close(void) {
    MPI_CHECK(MPI_Win_fence(MPI_MODE_NOSUCCEED, win));
}

static void lock_self(void) {
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, win));
}
static void unlock_self(void) {
    MPI_CHECK(MPI_Win_unlock(rank, win));
}

static const size_t sizes[] = {1,      2,       3,        7,       8,       61,
                               4096,   4099,    65536,    65549,   1 << 20, (1 << 20) + 5,
                               333333, 8 << 20, 16 << 20, 64 << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static size_t max_size(size_t a, size_t b, size_t c) {
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* Each rank owns one slot of every window in the lock_all phase. */
static size_t lock_all_slot(void) {
    return (4 << 20) + 2 * GUARD + 64 + XFER_OFF;
}

static size_t skew(size_t k) {
    return (k * 13) % 64;
}

/* Target side: prepare [off - GUARD, off + n + GUARD) before an epoch. */
static void prepare_target(size_t off, size_t n) {
    memset(winbuf + off - GUARD, SENT, n + 2 * GUARD);
}

static void check_target(size_t off, size_t n, int owner, unsigned tag, const char *what) {
    char buf[160];
    snprintf(buf, sizeof(buf), "%s, %zu bytes at window offset %zu", what, n, off);
    expect_byte(winbuf + off - GUARD, GUARD, SENT, buf);
    expect_pat(winbuf + off, n, owner, tag, buf);
    expect_byte(winbuf + off + n, GUARD, SENT, buf);
}

static void phase_fence_put(void) {
    phase = "fence + MPI_Put";
    for (size_t k = 0; k < NSIZES && sizes[k] <= max_xfer; k++) {
        size_t n = sizes[k], off = XFER_OFF + skew(k);
        prepare_target(off, n);
        fill(obuf, n, rank, (unsigned)k);
        fence_open();
        MPI_CHECK(MPI_Put(obuf, (int)n, MPI_BYTE, right, tdisp(right, off), (int)n, MPI_BYTE, win));
        fence_close();
        check_target(off, n, left, (unsigned)k, "put from left neighbour");
    }
    /* Several puts to disjoint ranges in one epoch, plus a get of data that
     * was in place before the epoch. */
    phase = "fence + several ops per epoch";
    size_t n = 1000, stride = 4096;
    for (int j = 0; j < 8; j++)
        prepare_target(XFER_OFF + j * stride, n);
    size_t gn = max_xfer < 3 * MIB ? max_xfer : 3 * MIB;
    fill(winbuf + 8 * MIB, gn, rank, 77);
    fill(obuf, 8 * n, rank, 50);
    fence_open();
    for (int j = 0; j < 8; j++)
        MPI_CHECK(MPI_Put(obuf + j * n, (int)n, MPI_BYTE, right,
                          tdisp(right, XFER_OFF + j * stride), (int)n, MPI_BYTE, win));
    MPI_CHECK(MPI_Get(rbuf, (int)gn, MPI_BYTE, left, tdisp(left, 8 * MIB), (int)gn, MPI_BYTE, win));
    fence_close();
    for (int j = 0; j < 8; j++) {
        expect_byte(winbuf + XFER_OFF + j * stride - GUARD, GUARD, SENT, "guard before put");
        for (size_t i = 0; i < n; i++)
            if (winbuf[XFER_OFF + j * stride + i] != pat(left, 50, j * n + i))
                fail("put %d of 8: byte %zu wrong", j, i);
        expect_byte(winbuf + XFER_OFF + j * stride + n, GUARD, SENT, "guard after put");
    }
    expect_pat(rbuf, gn, left, 77, "get in the same fence epoch");
}

static void phase_pscw(void) {
    phase = "post-start-complete-wait";
    for (size_t k = 0; k < NSIZES && sizes[k] <= max_xfer; k++) {
        size_t n = sizes[k], off = XFER_OFF + skew(k);
        unsigned tag = 100 + (unsigned)k;
        /* Get: I read my right neighbour, my left neighbour reads me. */
        fill(winbuf + off, n, rank, tag);
        memset(rbuf, SENT, n + GUARD);
        MPI_CHECK(MPI_Win_post(g_left, 0, win));
        MPI_CHECK(MPI_Win_start(g_right, 0, win));
        MPI_CHECK(MPI_Get(rbuf, (int)n, MPI_BYTE, right, tdisp(right, off), (int)n, MPI_BYTE, win));
        MPI_CHECK(MPI_Win_complete(win));
        MPI_CHECK(MPI_Win_wait(win));
        expect_pat(rbuf, n, right, tag, "PSCW get from right neighbour");
        expect_byte(rbuf + n, GUARD, SENT, "PSCW get: origin bytes past the end");

        /* Put: I write my right neighbour, my left neighbour writes me. */
        prepare_target(off, n);
        fill(obuf, n, rank, tag + 1000);
        MPI_CHECK(MPI_Win_post(g_left, 0, win));
        MPI_CHECK(MPI_Win_start(g_right, 0, win));
        MPI_CHECK(MPI_Put(obuf, (int)n, MPI_BYTE, right, tdisp(right, off), (int)n, MPI_BYTE, win));
        MPI_CHECK(MPI_Win_complete(win));
        MPI_CHECK(MPI_Win_wait(win));
        check_target(off, n, left, tag + 1000, "PSCW put from left neighbour");
    }
}

static void phase_lock(void) {
    phase = "lock/unlock";
    for (size_t k = 0; k < NSIZES && sizes[k] <= max_xfer; k++) {
        size_t n = sizes[k], off = XFER_OFF + skew(k);
        unsigned tag = 200 + (unsigned)k;
        int type = (k % 2) ? MPI_LOCK_SHARED : MPI_LOCK_EXCLUSIVE;
        lock_self();
        prepare_target(off, n);
        unlock_self();
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        fill(obuf, n, rank, tag);
        memset(rbuf, SENT, n + GUARD);
        MPI_CHECK(MPI_Win_lock(type, right, 0, win));
        MPI_CHECK(MPI_Put(obuf, (int)n, MPI_BYTE, right, tdisp(right, off), (int)n, MPI_BYTE, win));
        MPI_CHECK(MPI_Win_flush(right, win));
        MPI_CHECK(MPI_Get(rbuf, (int)n, MPI_BYTE, right, tdisp(right, off), (int)n, MPI_BYTE, win));
        MPI_CHECK(MPI_Win_unlock(right, win));
        expect_pat(rbuf, n, rank, tag, "get back what I put (flush between)");
        expect_byte(rbuf + n, GUARD, SENT, "get: origin bytes past the end");
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        lock_self();
        check_target(off, n, left, tag, "locked put from left neighbour");
        unlock_self();
    }
}

/* lock_all, request-based operations to every other rank, flushes. */
static void phase_lock_all(void) {
    phase = "lock_all + MPI_Rput/MPI_Rget + flush";
    static const size_t slot_sizes[] = {3999, (1 << 20) + 3, 4 << 20};
    size_t slot = lock_all_slot();
    MPI_Request *req = malloc(sizeof(MPI_Request) * 2 * nranks);
    for (size_t k = 0; k < sizeof(slot_sizes) / sizeof(slot_sizes[0]); k++) {
        size_t n = slot_sizes[k];
        if (n > max_xfer)
            break;
        unsigned tag = 300 + (unsigned)k;
        lock_self();
        for (int r = 0; r < nranks; r++)
            prepare_target(XFER_OFF + r * slot, n);
        unlock_self();
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        fill(obuf, n, rank, tag);
        MPI_CHECK(MPI_Win_lock_all(0, win));
        int nreq = 0;
        for (int t = 0; t < nranks; t++) {
            if (t == rank)
                continue;
            /* Open MPI 4.1.4 osc/ucx's MPI_Rput/MPI_Rget on dynamic windows
             * re-fetch the target's region keys and then use the released
             * one (crash in ucp_ep_rkey_unpack / ucp_rkey_destroy with 4
             * ranks): plain put/get + flush_local there. */
            if (flavor == FLAVOR_DYNAMIC)
                MPI_CHECK(MPI_Put(obuf, (int)n, MPI_BYTE, t, tdisp(t, XFER_OFF + rank * slot),
                                  (int)n, MPI_BYTE, win));
            else
                MPI_CHECK(MPI_Rput(obuf, (int)n, MPI_BYTE, t, tdisp(t, XFER_OFF + rank * slot),
                                   (int)n, MPI_BYTE, win, &req[nreq++]));
        }
        MPI_CHECK(MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE));
        if (flavor == FLAVOR_DYNAMIC)
            MPI_CHECK(MPI_Win_flush_local_all(win));
        /* Local completion only: the origin buffer may change now, the
         * target must still receive the old contents. */
        memset(obuf, 0, n);
        MPI_CHECK(MPI_Win_flush_all(win));
        nreq = 0;
        for (int t = 0; t < nranks; t++) {
            if (t == rank)
                continue;
            if (flavor == FLAVOR_DYNAMIC)
                MPI_CHECK(MPI_Get(rbuf + t * slot, (int)n, MPI_BYTE, t,
                                  tdisp(t, XFER_OFF + rank * slot), (int)n, MPI_BYTE, win));
            else
                MPI_CHECK(MPI_Rget(rbuf + t * slot, (int)n, MPI_BYTE, t,
                                   tdisp(t, XFER_OFF + rank * slot), (int)n, MPI_BYTE, win,
                                   &req[nreq++]));
        }
        MPI_CHECK(MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE));
        if (flavor == FLAVOR_DYNAMIC)
            MPI_CHECK(MPI_Win_flush_all(win));
        MPI_CHECK(MPI_Win_unlock_all(win));
        for (int t = 0; t < nranks; t++)
            if (t != rank)
                expect_pat(rbuf + t * slot, n, rank, tag, "Rget of what I Rput");
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        lock_self();
        for (int r = 0; r < nranks; r++)
            if (r != rank)
                check_target(XFER_OFF + r * slot, n, r, tag, "Rput slot");
        unlock_self();
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    }
    /* flush_local: the origin buffer is reusable at once, every version
     * arrives in order at distinct places. */
    phase = "lock_all + MPI_Win_flush_local";
    lock_self();
    prepare_target(XFER_OFF, 16 * 4096);
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int j = 0; j < 16; j++) {
        fill(obuf, 4096, rank, 400 + j);
        MPI_CHECK(MPI_Put(obuf, 4096, MPI_BYTE, right, tdisp(right, XFER_OFF + j * 4096), 4096,
                          MPI_BYTE, win));
        MPI_CHECK(MPI_Win_flush_local(right, win));
    }
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    lock_self();
    for (int j = 0; j < 16; j++)
        expect_pat(winbuf + XFER_OFF + j * 4096, 4096, left, 400 + j, "flush_local put");
    unlock_self();
    free(req);
}

static int64_t *win64(size_t off) {
    return (int64_t *)(void *)(winbuf + off);
}
static int32_t *win32(size_t off) {
    return (int32_t *)(void *)(winbuf + off);
}

static void zero_region(size_t off, size_t n) {
    lock_self();
    memset(winbuf + off, 0, n);
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void phase_accumulate(void) {
    phase = "MPI_Accumulate";
    const size_t acc_off = XFER_OFF;
    static const size_t counts[] = {1, 499, 4097, 131072};
    for (size_t k = 0; k < 4 && counts[k] * 8 <= max_xfer; k++) {
        size_t cnt = counts[k];
        zero_region(acc_off, cnt * 8);
        int64_t *v = (int64_t *)(void *)obuf;
        for (size_t i = 0; i < cnt; i++)
            v[i] = (int64_t)(rank + 1) * (int64_t)(i + 1);
        MPI_CHECK(MPI_Win_lock_all(0, win));
        for (int t = 0; t < nranks; t++)
            MPI_CHECK(MPI_Accumulate(v, (int)cnt, MPI_INT64_T, t, tdisp(t, acc_off), (int)cnt,
                                     MPI_INT64_T, MPI_SUM, win));
        MPI_CHECK(MPI_Win_unlock_all(win));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        lock_self();
        int64_t f = (int64_t)nranks * (nranks + 1) / 2;
        for (size_t i = 0; i < cnt; i++)
            if (win64(acc_off)[i] != f * (int64_t)(i + 1))
                fail("SUM of %zu int64: element %zu is %" PRId64 ", expected %" PRId64, cnt, i,
                     win64(acc_off)[i], f * (int64_t)(i + 1));
        unlock_self();
    }

    /* MAX on int32 and REPLACE, synchronised by fence. */
    phase = "MPI_Accumulate MAX/REPLACE (fence)";
    size_t cnt = max_xfer / 4 < 10007 ? max_xfer / 4 - 1 : 10007;
    zero_region(acc_off, cnt * 4 + 64);
    int32_t *v = (int32_t *)(void *)obuf;
    for (size_t i = 0; i < cnt; i++)
        v[i] = val32(rank, 1, i);
    fence_open();
    for (int t = 0; t < nranks; t++)
        MPI_CHECK(MPI_Accumulate(v, (int)cnt, MPI_INT32_T, t, tdisp(t, acc_off), (int)cnt,
                                 MPI_INT32_T, MPI_MAX, win));
    fence_close();
    for (size_t i = 0; i < cnt; i++) {
        int32_t m = 0;
        for (int r = 0; r < nranks; r++)
            m = val32(r, 1, i) > m ? val32(r, 1, i) : m;
        if (win32(acc_off)[i] != m)
            fail("MAX: element %zu is %d, expected %d", i, win32(acc_off)[i], m);
    }
    for (size_t i = 0; i < cnt; i++)
        v[i] = val32(rank, 2, i);
    /* Nobody may update my window while I am still reading it. */
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    fence_open();
    MPI_CHECK(MPI_Accumulate(v, (int)cnt, MPI_INT32_T, right, tdisp(right, acc_off), (int)cnt,
                             MPI_INT32_T, MPI_REPLACE, win));
    fence_close();
    for (size_t i = 0; i < cnt; i++)
        if (win32(acc_off)[i] != val32(left, 2, i))
            fail("REPLACE: element %zu is %d, expected %d", i, win32(acc_off)[i],
                 val32(left, 2, i));
    if (win32(acc_off)[cnt] != 0)
        fail("REPLACE wrote past its end");
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

/* old[] holds every value some rank saw before its increment of one
 * counter: they must be exactly 0 .. total-1, each once. */
static void expect_permutation(const int64_t *old, size_t total, size_t stride, const char *what) {
    uint8_t *seen = calloc(total, 1);
    for (size_t i = 0; i < total; i++) {
        int64_t x = old[i * stride];
        if (x < 0 || (size_t)x >= total || seen[x])
            fail("%s: value %" PRId64 " returned %s", what, x,
                 x < 0 || (size_t)x >= total ? "out of range" : "twice (lost update)");
        seen[x] = 1;
    }
    free(seen);
}

static void phase_get_accumulate(void) {
    phase = "MPI_Get_accumulate";
    const size_t off = XFER_OFF;
    enum { K = 8, ROUNDS = 48 };
    zero_region(off, K * 8);
    int64_t ones[K], old[ROUNDS * K];
    for (int j = 0; j < K; j++)
        ones[j] = 1;
    for (int r = 0; r < ROUNDS; r++) {
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
        MPI_CHECK(MPI_Get_accumulate(ones, K, MPI_INT64_T, &old[r * K], K, MPI_INT64_T, 0,
                                     tdisp(0, off), K, MPI_INT64_T, MPI_SUM, win));
        MPI_CHECK(MPI_Win_unlock(0, win));
    }
    int64_t *all = rank == 0 ? malloc(sizeof(old) * nranks) : NULL;
    MPI_CHECK(
        MPI_Gather(old, ROUNDS * K, MPI_INT64_T, all, ROUNDS * K, MPI_INT64_T, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        for (int j = 0; j < K; j++)
            expect_permutation(all + j, (size_t)nranks * ROUNDS, K, "Get_accumulate SUM");
        lock_self();
        for (int j = 0; j < K; j++)
            if (win64(off)[j] != (int64_t)nranks * ROUNDS)
                fail("Get_accumulate SUM: final element %d is %" PRId64, j, win64(off)[j]);
        unlock_self();
        free(all);
    }

    /* REPLACE returns what was there; NO_OP reads without changing. */
    phase = "MPI_Get_accumulate REPLACE/NO_OP";
    size_t cnt = max_xfer / 8 < 65539 ? max_xfer / 8 - 3 : 65539;
    int64_t *mine = win64(off);
    lock_self();
    for (size_t i = 0; i < cnt; i++)
        mine[i] = (int64_t)rank * 1000000007 + (int64_t)i;
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int64_t *nv = (int64_t *)(void *)obuf, *res = (int64_t *)(void *)rbuf;
    for (size_t i = 0; i < cnt; i++)
        nv[i] = -((int64_t)rank * 1000000007 + (int64_t)i) - 1;
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, right, 0, win));
    MPI_CHECK(MPI_Get_accumulate(nv, (int)cnt, MPI_INT64_T, res, (int)cnt, MPI_INT64_T, right,
                                 tdisp(right, off), (int)cnt, MPI_INT64_T, MPI_REPLACE, win));
    MPI_CHECK(MPI_Win_unlock(right, win));
    for (size_t i = 0; i < cnt; i++)
        if (res[i] != (int64_t)right * 1000000007 + (int64_t)i)
            fail("REPLACE result %zu is %" PRId64, i, res[i]);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, left, 0, win));
    MPI_CHECK(MPI_Get_accumulate(NULL, 0, MPI_INT64_T, res, (int)cnt, MPI_INT64_T, left,
                                 tdisp(left, off), (int)cnt, MPI_INT64_T, MPI_NO_OP, win));
    MPI_CHECK(MPI_Win_unlock(left, win));
    /* left's region was replaced by left's own left neighbour (left - 1). */
    int ll = (left - 1 + nranks) % nranks;
    for (size_t i = 0; i < cnt; i++)
        if (res[i] != -((int64_t)ll * 1000000007 + (int64_t)i) - 1)
            fail("NO_OP read %zu is %" PRId64, i, res[i]);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void phase_fetch_and_op(void) {
    phase = "MPI_Fetch_and_op";
    const size_t off = XFER_OFF;
    enum { ROUNDS = 200 };
    int tgt = nranks - 1;
    zero_region(off, 64);
    int64_t one = 1, old[ROUNDS];
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int r = 0; r < ROUNDS; r++) {
        MPI_CHECK(MPI_Fetch_and_op(&one, &old[r], MPI_INT64_T, tgt, tdisp(tgt, off), MPI_SUM, win));
        MPI_CHECK(MPI_Win_flush(tgt, win));
    }
    MPI_CHECK(MPI_Win_unlock_all(win));
    int64_t *all = rank == 0 ? malloc(sizeof(old) * nranks) : NULL;
    MPI_CHECK(MPI_Gather(old, ROUNDS, MPI_INT64_T, all, ROUNDS, MPI_INT64_T, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        expect_permutation(all, (size_t)nranks * ROUNDS, 1, "Fetch_and_op SUM");
        free(all);
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int64_t now = -1;
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, tgt, 0, win));
    MPI_CHECK(MPI_Fetch_and_op(NULL, &now, MPI_INT64_T, tgt, tdisp(tgt, off), MPI_NO_OP, win));
    MPI_CHECK(MPI_Win_unlock(tgt, win));
    if (now != (int64_t)nranks * ROUNDS)
        fail("Fetch_and_op NO_OP reads %" PRId64 ", expected %d", now, nranks * ROUNDS);

    /* Swap: the values handed out plus the one left over are the initial
     * value and every rank's, each exactly once. */
    phase = "MPI_Fetch_and_op REPLACE";
    lock_self();
    win64(off)[1] = nranks;
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int64_t mine = rank, got = -1;
    MPI_CHECK(MPI_Win_lock_all(0, win));
    MPI_CHECK(MPI_Fetch_and_op(&mine, &got, MPI_INT64_T, 0, tdisp(0, off + 8), MPI_REPLACE, win));
    MPI_CHECK(MPI_Win_unlock_all(win));
    int64_t *gots = rank == 0 ? malloc(sizeof(int64_t) * (nranks + 1)) : NULL;
    MPI_CHECK(MPI_Gather(&got, 1, MPI_INT64_T, gots, 1, MPI_INT64_T, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        lock_self();
        gots[nranks] = win64(off)[1];
        unlock_self();
        expect_permutation(gots, (size_t)nranks + 1, 1, "Fetch_and_op REPLACE");
        free(gots);
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void phase_compare_and_swap(void) {
    phase = "MPI_Compare_and_swap";
    const size_t off = XFER_OFF;
    enum { ROUNDS = 40 };
    /* The counter's owner does not increment it: Open MPI 4.1.4's default
     * osc/rdma crashes in btl/vader's emulated compare-and-swap on itself
     * (mca_btl_vader_emu_acswap -> mca_btl_vader_send, NULL endpoint). */
    int tgt = 0;
    zero_region(off, 64);
    int64_t won[ROUNDS] = {0};
    MPI_CHECK(MPI_Win_lock_all(0, win));
    int64_t cur = 0;
    for (int r = 0; r < ROUNDS && rank != tgt; r++) {
        for (;;) {
            int64_t next = cur + 1, seen = -1;
            MPI_CHECK(
                MPI_Compare_and_swap(&next, &cur, &seen, MPI_INT64_T, tgt, tdisp(tgt, off), win));
            MPI_CHECK(MPI_Win_flush(tgt, win));
            if (seen == cur) {
                won[r] = cur;
                cur = next;
                break;
            }
            if (seen < cur)
                fail("counter went backwards: %" PRId64 " after %" PRId64, seen, cur);
            cur = seen;
        }
    }
    MPI_CHECK(MPI_Win_unlock_all(win));
    int64_t *all = rank == 0 ? malloc(sizeof(won) * nranks) : NULL;
    MPI_CHECK(MPI_Gather(won, ROUNDS, MPI_INT64_T, all, ROUNDS, MPI_INT64_T, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        expect_permutation(all + ROUNDS, (size_t)(nranks - 1) * ROUNDS, 1, "Compare_and_swap");
        free(all);
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == tgt) {
        lock_self();
        if (win64(off)[0] != (int64_t)(nranks - 1) * ROUNDS)
            fail("CAS counter ends at %" PRId64, win64(off)[0]);
        unlock_self();
    }

    /* A compare that does not match changes nothing (32-bit this time). */
    phase = "MPI_Compare_and_swap mismatch";
    lock_self();
    win32(off)[4] = 1000 + rank;
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int32_t newv = -7, cmp = 999, seen = 0;
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, right, 0, win));
    MPI_CHECK(
        MPI_Compare_and_swap(&newv, &cmp, &seen, MPI_INT32_T, right, tdisp(right, off + 16), win));
    MPI_CHECK(MPI_Win_unlock(right, win));
    if (seen != 1000 + right)
        fail("CAS returned %d, expected %d", seen, 1000 + right);
    cmp = seen;
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, right, 0, win));
    MPI_CHECK(
        MPI_Compare_and_swap(&newv, &cmp, &seen, MPI_INT32_T, right, tdisp(right, off + 16), win));
    MPI_CHECK(MPI_Win_unlock(right, win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    lock_self();
    if (win32(off)[4] != -7 || win32(off)[3] != 0 || win32(off)[5] != 0)
        fail("CAS 32: %d %d %d, expected 0 -7 0", win32(off)[3], win32(off)[4], win32(off)[5]);
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void fill_sent32(int32_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = SENT32;
}

/* Vector and indexed datatypes on the target and on the origin side. */
/* Epoch around accesses to target: a fence (small transfers, or VE windows,
 * both are exercised with each datatype) or an exclusive lock + barrier. */
static void access_begin(int target, int use_fence) {
    if (use_fence)
        fence_open();
    else
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, target, 0, win));
}

static void access_end(int target, int use_fence) {
    if (use_fence) {
        fence_close();
    } else {
        MPI_CHECK(MPI_Win_unlock(target, win));
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    }
}

static void phase_datatypes(void) {
    phase = "derived datatypes: vector";
    const size_t off = XFER_OFF;
    struct {
        int count, blen, stride;
    } vec[] = {{100, 3, 7}, {65536, 16, 24}};
    for (int k = 0; k < 2; k++) {
        int c = vec[k].count, b = vec[k].blen, s = vec[k].stride;
        size_t span = (size_t)c * s + 16;
        if ((size_t)c * b * 4 > max_xfer)
            break;
        MPI_Datatype vt;
        MPI_CHECK(MPI_Type_vector(c, b, s, MPI_INT32_T, &vt));
        MPI_CHECK(MPI_Type_commit(&vt));
        int use_fence = k == 0 && registered_window();
        lock_self();
        fill_sent32(win32(off), span);
        unlock_self();
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        int32_t *src = (int32_t *)(void *)obuf;
        for (size_t i = 0; i < (size_t)c * b; i++)
            src[i] = val32(rank, 10 + k, i);
        access_begin(right, use_fence);
        MPI_CHECK(MPI_Put(src, c * b, MPI_INT32_T, right, tdisp(right, off), 1, vt, win));
        access_end(right, use_fence);
        lock_self();
        const int32_t *t = win32(off);
        for (size_t i = 0; i < span; i++) {
            size_t blk = i / s, e = i % s;
            int32_t want =
                blk < (size_t)c && e < (size_t)b ? val32(left, 10 + k, blk * b + e) : SENT32;
            if (t[i] != want)
                fail("vector put (%d x %d / %d): int %zu is 0x%x, expected 0x%x", c, b, s, i, t[i],
                     want);
        }
        unlock_self();
        /* Get with the vector on the origin side: gather back into a strided
         * local buffer. */
        fill_sent32((int32_t *)(void *)rbuf, span);
        access_begin(left, use_fence);
        MPI_CHECK(MPI_Get(rbuf, 1, vt, left, tdisp(left, off), 1, vt, win));
        access_end(left, use_fence);
        /* left's window holds what left's left neighbour put. */
        int ll = (left - 1 + nranks) % nranks;
        const int32_t *g = (const int32_t *)(void *)rbuf;
        for (size_t i = 0; i < span; i++) {
            size_t blk = i / s, e = i % s;
            int32_t want =
                blk < (size_t)c && e < (size_t)b ? val32(ll, 10 + k, blk * b + e) : SENT32;
            if (g[i] != want)
                fail("vector get: int %zu is 0x%x, expected 0x%x", i, g[i], want);
        }
        MPI_CHECK(MPI_Type_free(&vt));
    }

    phase = "derived datatypes: indexed";
    enum { NB = 9 };
    int blens[NB] = {1, 5, 2, 17, 1, 300, 3, 500, 33};
    int displs[NB] = {0, 3, 11, 20, 60, 64, 1000, 2000, 9000};
    size_t total = 0, span = 9100;
    for (int j = 0; j < NB; j++)
        total += blens[j];
    MPI_Datatype it;
    MPI_CHECK(MPI_Type_indexed(NB, blens, displs, MPI_INT32_T, &it));
    MPI_CHECK(MPI_Type_commit(&it));
    /* Put contiguous -> indexed target. */
    lock_self();
    fill_sent32(win32(off), span);
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int32_t *src = (int32_t *)(void *)obuf;
    for (size_t i = 0; i < total; i++)
        src[i] = val32(rank, 20, i);
    access_begin(right, registered_window());
    MPI_CHECK(MPI_Put(src, (int)total, MPI_INT32_T, right, tdisp(right, off), 1, it, win));
    access_end(right, registered_window());
    lock_self();
    {
        size_t n = 0;
        const int32_t *t = win32(off);
        int32_t *want = malloc(span * 4);
        fill_sent32(want, span);
        for (int j = 0; j < NB; j++)
            for (int e = 0; e < blens[j]; e++)
                want[displs[j] + e] = val32(left, 20, n++);
        for (size_t i = 0; i < span; i++)
            if (t[i] != want[i])
                fail("indexed put: int %zu is 0x%x, expected 0x%x", i, t[i], want[i]);
        free(want);
    }
    /* Get contiguous target -> indexed origin. */
    for (size_t i = 0; i < total; i++)
        win32(off)[i] = val32(rank, 21, i);
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    fill_sent32((int32_t *)(void *)rbuf, span);
    access_begin(right, 0);
    MPI_CHECK(MPI_Get(rbuf, 1, it, right, tdisp(right, off), (int)total, MPI_INT32_T, win));
    access_end(right, 0);
    {
        size_t n = 0;
        const int32_t *g = (const int32_t *)(void *)rbuf;
        int32_t *want = malloc(span * 4);
        fill_sent32(want, span);
        for (int j = 0; j < NB; j++)
            for (int e = 0; e < blens[j]; e++)
                want[displs[j] + e] = val32(right, 21, n++);
        for (size_t i = 0; i < span; i++)
            if (g[i] != want[i])
                fail("indexed get: int %zu is 0x%x, expected 0x%x", i, g[i], want[i]);
        free(want);
    }

    /* Accumulate through an indexed target type from every rank. */
    phase = "derived datatypes: accumulate indexed";
    lock_self();
    memset(win32(off), 0, span * 4);
    unlock_self();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    for (size_t i = 0; i < total; i++)
        src[i] = (int32_t)(i + 1);
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int t = 0; t < nranks; t++)
        MPI_CHECK(
            MPI_Accumulate(src, (int)total, MPI_INT32_T, t, tdisp(t, off), 1, it, MPI_SUM, win));
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    lock_self();
    {
        size_t n = 0;
        int32_t *want = calloc(span, 4);
        for (int j = 0; j < NB; j++)
            for (int e = 0; e < blens[j]; e++)
                want[displs[j] + e] = (int32_t)(++n) * nranks;
        for (size_t i = 0; i < span; i++)
            if (win32(off)[i] != want[i])
                fail("indexed accumulate: int %zu is %d, expected %d", i, win32(off)[i], want[i]);
        free(want);
    }
    unlock_self();
    MPI_CHECK(MPI_Type_free(&it));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void create_window(void) {
    win_size = max_size(max_xfer, nranks * lock_all_slot(), 12 * MIB) + SLACK;
    bases = calloc(nranks, sizeof(MPI_Aint));
    switch (flavor) {
    case FLAVOR_ALLOCATE:
        MPI_CHECK(
            MPI_Win_allocate((MPI_Aint)win_size, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &winbuf, &win));
        break;
    case FLAVOR_CREATE:
        winbuf = malloc(win_size);
        if (winbuf == NULL)
            fail("malloc(%zu)", win_size);
        MPI_CHECK(
            MPI_Win_create(winbuf, (MPI_Aint)win_size, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win));
        break;
    case FLAVOR_CREATE_VE:
        winbuf = ve_memory_alloc(&win_size, &ve_window);
        if (winbuf == NULL)
            fail("no VE memory of %zu bytes (is the veshm module loaded?)", win_size);
        MPI_CHECK(
            MPI_Win_create(winbuf, (MPI_Aint)win_size, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win));
        break;
    case FLAVOR_DYNAMIC: {
        MPI_CHECK(MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &win));
        winbuf = malloc(win_size);
        if (winbuf == NULL)
            fail("malloc(%zu)", win_size);
        MPI_CHECK(MPI_Win_attach(win, winbuf, (MPI_Aint)win_size));
        MPI_Aint mine;
        MPI_CHECK(MPI_Get_address(winbuf, &mine));
        MPI_CHECK(MPI_Allgather(&mine, 1, MPI_AINT, bases, 1, MPI_AINT, MPI_COMM_WORLD));
        break;
    }
    }
    memset(winbuf, SENT, win_size);

    int ve = ve_memory_probe(winbuf);
    int want_ve = registered_window();
    if (rank == 0)
        printf("mpi_rma %s: %d ranks, window of %zu bytes, %s\n", flavor_name, nranks, win_size,
               ve < 0 ? "libveo not loaded"
               : ve   ? "VE memory"
                      : "host memory");
    if (ve_memory_expected() && ve != want_ve)
        fail("window memory is %s, expected %s",
             ve < 0 ? "unknown (libveo not loaded)"
             : ve   ? "VE memory"
                    : "host memory",
             want_ve ? "VE memory" : "host memory");
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void destroy_window(void) {
    if (flavor == FLAVOR_DYNAMIC)
        MPI_CHECK(MPI_Win_detach(win, winbuf));
    MPI_CHECK(MPI_Win_free(&win));
    /* The VE memory goes after MPI_Finalize (main): the veshm transport works
     * in the VE process it belongs to, and osc/ucx's endpoints, whose receive
     * FIFOs live there, stay until MPI_Finalize. */
    if (flavor != FLAVOR_ALLOCATE && flavor != FLAVOR_CREATE_VE)
        free(winbuf);
    free(bases);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    left = (rank - 1 + nranks) % nranks;
    right = (rank + 1) % nranks;
    flavor_name = argc > 1 ? argv[1] : "";
    if (strcmp(flavor_name, "allocate") == 0)
        flavor = FLAVOR_ALLOCATE;
    else if (strcmp(flavor_name, "create") == 0)
        flavor = FLAVOR_CREATE;
    else if (strcmp(flavor_name, "create_ve") == 0)
        flavor = FLAVOR_CREATE_VE;
    else if (strcmp(flavor_name, "dynamic") == 0)
        flavor = FLAVOR_DYNAMIC;
    else
        fail("usage: mpi_rma allocate|create|create_ve|dynamic [max_bytes]");
    max_xfer = argc > 2              ? strtoull(argv[2], NULL, 0)
               : registered_window() ? 64 * MIB
                                     : HOST_WINDOW_MAX;
    if (max_xfer < 4000)
        fail("max_bytes must be at least 4000");
    if (nranks < 2)
        fail("needs at least 2 ranks");

    MPI_Comm_group(MPI_COMM_WORLD, &world_group);
    MPI_Group_incl(world_group, 1, &left, &g_left);
    MPI_Group_incl(world_group, 1, &right, &g_right);

    obuf = malloc(max_size(max_xfer, 8 * MIB, 0));
    rbuf = malloc(max_size(max_xfer, nranks * lock_all_slot(), 8 * MIB) + SLACK);
    if (obuf == NULL || rbuf == NULL)
        fail("out of memory");

    create_window();
    struct {
        void (*fn)(void);
        const char *name;
    } phases[] = {{phase_fence_put, "fence put"},
                  {phase_pscw, "pscw"},
                  {phase_lock, "lock"},
                  {phase_lock_all, "lock_all"},
                  {phase_accumulate, "accumulate"},
                  {phase_get_accumulate, "get_accumulate"},
                  {phase_fetch_and_op, "fetch_and_op"},
                  {phase_compare_and_swap, "compare_and_swap"},
                  {phase_datatypes, "datatypes"}};
    for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
        double t0 = MPI_Wtime();
        phases[p].fn();
        MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
        if (rank == 0)
            printf("  %-18s ok  %.2f s\n", phases[p].name, MPI_Wtime() - t0);
    }
    destroy_window();

    MPI_Group_free(&g_left);
    MPI_Group_free(&g_right);
    MPI_Group_free(&world_group);
    free(obuf);
    free(rbuf);
    if (rank == 0)
        printf("mpi_rma %s: all checks passed\n", flavor_name);
    fflush(stdout);
    MPI_Finalize();
    if (flavor == FLAVOR_CREATE_VE)
        ve_memory_free(&ve_window);
    return 0;
}
