/* Large puts and gets on windows over host memory (MPI_Win_create of
 * malloc'ed memory), which mpi_osc_route shares with the target on one host
 * (mpi_osc_route/host_win.h) while osc/rdma keeps the synchronization:
 *   mpi_rma_host shared|any [rounds]
 * lock:      rank 0 puts to and gets from every rank under MPI_Win_lock, an
 *            odd number of ints at an odd displacement: the bytes around them
 *            are untouched, the bytes in them are the origin's.
 * all:       every rank puts to the next one and gets from the previous one
 *            in a lock_all epoch, completed by MPI_Win_flush.
 * fence:     the same between two fences.
 * pscw:      the target checks, for a while before its MPI_Win_post, that no
 *            byte of the put its origin started has arrived yet (an origin
 *            must not write before the target has posted), then waits.
 * exclusive: with 3 ranks or more, ranks 1.. read-modify-write one block of
 *            rank 0's window, rank 1 inside MPI_Win_lock_all (osc/rdma takes
 *            that lock only with the epoch's first operation), the others
 *            under MPI_LOCK_EXCLUSIVE: no increment may be lost.
 * accumulate: ranks 1.. add to one block of rank 0's window: under
 *            MPI_LOCK_EXCLUSIVE a get_accumulate and an accumulate (the
 *            routing library's), under MPI_LOCK_SHARED (rank 1:
 *            MPI_Win_lock_all) an accumulate of osc/rdma's, at the same time
 *            as the other ranks' epochs: no addition may be lost, and a
 *            get_accumulate sees the block whole (every int the same). In a
 *            block of its own each rank checks that a small MPI_REPLACE,
 *            osc/rdma's, comes before the large sum that follows it.
 * computing: the target computes, outside MPI, while rank 0 puts twice and
 *            gets: the origin does it alone, or, after a transfer the target
 *            did not help with, leaves the next ones to osc/rdma; the data
 *            is right.
 * no epoch:  a put outside any epoch (none yet, after a fence with
 *            MPI_MODE_NOSUCCEED, after an unlock) answers MPI_ERR_RMA_SYNC,
 *            as osc/rdma does, and moves nothing.
 * Run with OMPI_MCA_osc_rdma_locking_mode=on_demand too: osc/rdma then takes
 * even MPI_Win_lock_all's locks target by target, with the first operation.
 * "shared": the routing library must have shared transfers with their
 * targets and left some to osc/rdma (its counters,
 * veshm_osc_route_host_stats); "any": not checked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_fail.h"
#include "route_stats.h"

static int rank, nranks;
static const char *phase = "init";

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mpi_fail_v("mpi_rma_host", rank, nranks, phase, fmt, ap);
}

/* Ints of each window: a transfer of COUNT ints (about 1.2 MiB) at AT fits
 * twice, with room around it. */
#define COUNT 300007
#define AT 13
#define WORDS (2 * COUNT + 64)

static int *mem; /* this rank's window */
static int *buf; /* origin buffer */
static MPI_Win win;

static int value(int round, int owner, int i) {
    return round * 1000003 + owner * 7919 + i;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fill_window(int round) {
    for (int i = 0; i < WORDS; ++i)
        mem[i] = -value(round, rank, i);
}

/* The window holds src's COUNT ints at at, and this rank's own fill around. */
static void expect_window(int round, int src, int at) {
    for (int i = 0; i < WORDS; ++i) {
        int in = i >= at && i < at + COUNT;
        int want = in ? value(round, src, i - at) : -value(round, rank, i);
        if (mem[i] != want)
            fail("round %d: word %d is %d, expected %d (%s)", round, i, mem[i], want,
                 in ? "put by rank" : "untouched");
    }
}

static void fill_buf(int round) {
    for (int i = 0; i < COUNT; ++i)
        buf[i] = value(round, rank, i);
}

/* buf holds COUNT ints of target's fill from word at. */
static void expect_got(int round, int target, int at) {
    for (int i = 0; i < COUNT; ++i)
        if (buf[i] != -value(round, target, at + i))
            fail("round %d: got word %d from rank %d as %d, expected %d", round, i, target, buf[i],
                 -value(round, target, at + i));
}

static void lock_phase(int round) {
    phase = "lock";
    fill_window(round);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        for (int t = 1; t < nranks; ++t) {
            fill_buf(round);
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, t, 0, win));
            MPI_CHECK(MPI_Put(buf, COUNT, MPI_INT, t, AT, COUNT, MPI_INT, win));
            MPI_CHECK(MPI_Win_unlock(t, win));
            memset(buf, 0, COUNT * sizeof(int));
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, t, 0, win));
            MPI_CHECK(MPI_Get(buf, COUNT, MPI_INT, t, AT + COUNT, COUNT, MPI_INT, win));
            MPI_CHECK(MPI_Win_unlock(t, win));
            expect_got(round, t, AT + COUNT);
        }
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank != 0)
        expect_window(round, 0, AT);
}

/* Every rank puts to the next and gets from the previous, in whatever epoch
 * open() and close() make. */
static void ring(int round, void (*open)(void), void (*flush)(int), void (*close)(void)) {
    int next = (rank + 1) % nranks, prev = (rank + nranks - 1) % nranks;
    fill_window(round);
    fill_buf(round);
    int *got = malloc(COUNT * sizeof(int));
    if (got == NULL)
        fail("no memory");
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    open();
    MPI_CHECK(MPI_Put(buf, COUNT, MPI_INT, next, AT, COUNT, MPI_INT, win));
    MPI_CHECK(MPI_Get(got, COUNT, MPI_INT, prev, AT + COUNT, COUNT, MPI_INT, win));
    flush(next);
    flush(prev);
    close();
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    expect_window(round, prev, AT);
    memcpy(buf, got, COUNT * sizeof(int));
    free(got);
    expect_got(round, prev, AT + COUNT);
}

static void lock_all(void) {
    MPI_CHECK(MPI_Win_lock_all(0, win));
}
static void flush(int target) {
    MPI_CHECK(MPI_Win_flush(target, win));
}
static void unlock_all(void) {
    MPI_CHECK(MPI_Win_unlock_all(win));
}
static void fence(void) {
    MPI_CHECK(MPI_Win_fence(0, win));
}
static void no_flush(int target) {
    (void)target;
}

static void pscw_phase(int round) {
    phase = "pscw";
    fill_window(round);
    fill_buf(round);
    MPI_Group world, peer;
    MPI_CHECK(MPI_Win_get_group(win, &world));
    int other = rank == 0 ? 1 : 0;
    MPI_CHECK(MPI_Group_incl(world, 1, &other, &peer));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        MPI_CHECK(MPI_Win_start(peer, 0, win));
        MPI_CHECK(MPI_Put(buf, COUNT, MPI_INT, 1, AT, COUNT, MPI_INT, win));
        MPI_CHECK(MPI_Win_complete(win));
    } else if (rank == 1) {
        /* Before the post the window is this rank's alone: nothing of the
         * put may be there, however long the origin has been waiting. */
        for (double end = now() + 0.2; now() < end;)
            for (int i = 0; i < WORDS; i += 1024)
                if (mem[i] != -value(round, rank, i))
                    fail("round %d: word %d changed before MPI_Win_post", round, i);
        MPI_CHECK(MPI_Win_post(peer, 0, win));
        MPI_CHECK(MPI_Win_wait(win));
        expect_window(round, 0, AT);
    }
    MPI_CHECK(MPI_Group_free(&peer));
    MPI_CHECK(MPI_Group_free(&world));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

/* Ranks 1.. add 1 to each int of one block of rank 0's window, rounds
 * times each, a get and a put under a lock that excludes the others. */
static void exclusive_phase(int rounds) {
    phase = "exclusive";
    if (nranks < 3)
        return;
    if (rank == 0)
        memset(mem, 0, WORDS * sizeof(int));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank != 0) {
        for (int r = 0; r < rounds; ++r) {
            if (rank == 1)
                MPI_CHECK(MPI_Win_lock_all(0, win));
            else
                MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
            MPI_CHECK(MPI_Get(buf, COUNT, MPI_INT, 0, AT, COUNT, MPI_INT, win));
            MPI_CHECK(MPI_Win_flush(0, win));
            for (int i = 0; i < COUNT; ++i)
                buf[i] += 1;
            MPI_CHECK(MPI_Put(buf, COUNT, MPI_INT, 0, AT, COUNT, MPI_INT, win));
            if (rank == 1)
                MPI_CHECK(MPI_Win_unlock_all(win));
            else
                MPI_CHECK(MPI_Win_unlock(0, win));
        }
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0)
        for (int i = 0; i < COUNT; ++i)
            if (mem[AT + i] != rounds * (nranks - 1))
                fail("int %d is %d after %d rounds of %d ranks: an update was lost", i, mem[AT + i],
                     rounds, nranks - 1);
}

/* Ints of each rank's block of the ordering check of accumulate_phase
 * (256 KiB and more: large enough for the routing library), after the
 * summed block; ranks 1..4 have one. */
#define ORDER_COUNT 65543
#define ORDER_AT (AT + COUNT + 8)
#define ORDER_RANKS ((WORDS - ORDER_AT) / ORDER_COUNT)

static int order_at(int r) {
    return r >= 1 && r <= ORDER_RANKS ? ORDER_AT + (r - 1) * ORDER_COUNT : -1;
}

/* The value rank r's MPI_REPLACE writes in round. */
static int replaced(int round, int r) {
    return 1000 * (round + 1) + r;
}

/* Ints of the mid-size parts of the ordering check: the replaced head, and
 * a sum of 16 KiB after it (done by the origin alone, through the kernel). */
#define ORDER_MID 4096

/* The value of int i of rank r's ordering block after round. */
static int ordered(int round, int r, int i) {
    return i < 4               ? replaced(round, r) + 2
           : i < ORDER_MID     ? replaced(round, r) + 1
           : i < 2 * ORDER_MID ? 2 * (round + 1)
                               : round + 1;
}

/* In rank r's block, inside its exclusive epoch: an MPI_REPLACE of its head
 * (ORDER_MID ints as one derived datatype: osc/rdma's, which may still be
 * on its way when the call returns), a large sum of 1 over the block and a
 * mid-size one over the next ORDER_MID ints (the library's), a small sum
 * over the first 4 ints (osc/rdma's), then a get (ordered()). */
static void ordering_check(int round, int *ones, int *got) {
    static int head[ORDER_MID];
    int at = order_at(rank);
    if (at < 0)
        return;
    MPI_Datatype block;
    MPI_CHECK(MPI_Type_contiguous(ORDER_MID, MPI_INT, &block));
    MPI_CHECK(MPI_Type_commit(&block));
    for (int i = 0; i < ORDER_MID; ++i)
        head[i] = replaced(round, rank);
    MPI_CHECK(MPI_Accumulate(head, 1, block, 0, at, 1, block, MPI_REPLACE, win));
    MPI_CHECK(
        MPI_Accumulate(ones, ORDER_COUNT, MPI_INT, 0, at, ORDER_COUNT, MPI_INT, MPI_SUM, win));
    MPI_CHECK(MPI_Accumulate(ones, ORDER_MID, MPI_INT, 0, at + ORDER_MID, ORDER_MID, MPI_INT,
                             MPI_SUM, win));
    MPI_CHECK(MPI_Accumulate(ones, 4, MPI_INT, 0, at, 4, MPI_INT, MPI_SUM, win));
    MPI_CHECK(MPI_Get(got, ORDER_COUNT, MPI_INT, 0, at, ORDER_COUNT, MPI_INT, win));
    MPI_CHECK(MPI_Win_flush(0, win));
    MPI_CHECK(MPI_Type_free(&block));
    for (int i = 0; i < ORDER_COUNT; ++i) {
        int want = ordered(round, rank, i);
        if (got[i] != want)
            fail("round %d: int %d of the ordering block is %d, expected %d (%s)", round, i, got[i],
                 want,
                 i < ORDER_MID ? "the MPI_REPLACE before the sums, then the sums"
                               : "the sums so far");
    }
}

static void accumulate_phase(int rounds) {
    phase = "accumulate";
    const int outside = -7;
    int *got = malloc(COUNT * sizeof(int)), *ones = malloc(ORDER_COUNT * sizeof(int));
    if (got == NULL || ones == NULL)
        fail("no memory");
    for (int i = 0; i < ORDER_COUNT; ++i)
        ones[i] = 1;
    if (rank == 0)
        for (int i = 0; i < WORDS; ++i)
            mem[i] = (i >= AT && i < AT + COUNT) ||
                             (i >= ORDER_AT && i < ORDER_AT + ORDER_RANKS * ORDER_COUNT)
                         ? 0
                         : outside;
    for (int i = 0; i < COUNT; ++i)
        buf[i] = rank;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank != 0) {
        for (int r = 0; r < rounds; ++r) {
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
            MPI_CHECK(MPI_Get_accumulate(buf, COUNT, MPI_INT, got, COUNT, MPI_INT, 0, AT, COUNT,
                                         MPI_INT, MPI_SUM, win));
            MPI_CHECK(MPI_Accumulate(buf, COUNT, MPI_INT, 0, AT, COUNT, MPI_INT, MPI_SUM, win));
            ordering_check(r, ones, got + COUNT - ORDER_COUNT);
            MPI_CHECK(MPI_Win_unlock(0, win));
            /* Every earlier addition is complete under an exclusive lock:
             * the block is the same everywhere, and holds this rank's. */
            for (int i = 0; i < COUNT - ORDER_COUNT; ++i)
                if (got[i] != got[0])
                    fail("round %d: get_accumulate saw int %d as %d and int 0 as %d", r, i, got[i],
                         got[0]);
            if (got[0] < 3 * rank * r)
                fail("round %d: get_accumulate saw %d, less than this rank's own %d", r, got[0],
                     3 * rank * r);
            if (rank == 1)
                MPI_CHECK(MPI_Win_lock_all(0, win));
            else
                MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
            MPI_CHECK(MPI_Accumulate(buf, COUNT, MPI_INT, 0, AT, COUNT, MPI_INT, MPI_SUM, win));
            if (rank == 1)
                MPI_CHECK(MPI_Win_unlock_all(win));
            else
                MPI_CHECK(MPI_Win_unlock(0, win));
        }
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        int sum = 3 * rounds * (nranks - 1) * nranks / 2;
        for (int i = 0; i < WORDS; ++i) {
            int r = i >= ORDER_AT ? (i - ORDER_AT) / ORDER_COUNT + 1 : 0,
                in_order = r >= 1 && r <= ORDER_RANKS;
            int want = i >= AT && i < AT + COUNT ? sum
                       : !in_order               ? outside
                       : r >= nranks             ? 0
                                                 : ordered(rounds - 1, r, i - order_at(r));
            if (mem[i] != want)
                fail("after %d rounds of %d ranks, int %d is %d, expected %d", rounds, nranks - 1,
                     i, mem[i], want);
        }
    }
    free(got);
    free(ones);
}

/* Rank 1 computes, in no MPI call, while rank 0 puts and gets. */
static void computing_phase(int round) {
    phase = "computing";
    fill_window(round);
    fill_buf(round);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win));
        MPI_CHECK(MPI_Put(buf, COUNT, MPI_INT, 1, AT, COUNT, MPI_INT, win));
        MPI_CHECK(MPI_Put(buf, COUNT, MPI_INT, 1, AT, COUNT, MPI_INT, win));
        MPI_CHECK(MPI_Get(buf, COUNT, MPI_INT, 1, AT + COUNT, COUNT, MPI_INT, win));
        MPI_CHECK(MPI_Win_unlock(1, win));
        expect_got(round, 1, AT + COUNT);
    } else if (rank == 1) {
        volatile double x = 1;
        for (double end = now() + 0.1; now() < end;)
            x = x * 1.0000001;
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 1)
        expect_window(round, 0, AT);
}

/* A large put to rank 1 that must be refused. */
static void expect_refused(const char *when) {
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    int rc = MPI_Put(buf, COUNT, MPI_INT, 1, AT, COUNT, MPI_INT, win), cls = rc;
    MPI_Error_class(rc, &cls);
    MPI_CHECK(MPI_Win_set_errhandler(win, MPI_ERRORS_ARE_FATAL));
    if (cls != MPI_ERR_RMA_SYNC)
        fail("a put %s returned %d (class %d), not MPI_ERR_RMA_SYNC", when, rc, cls);
}

static void no_epoch_phase(int round) {
    phase = "no epoch";
    fill_window(round);
    fill_buf(round);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0)
        expect_refused("outside any epoch");
    MPI_CHECK(MPI_Win_fence(0, win));
    MPI_CHECK(MPI_Win_fence(MPI_MODE_NOSUCCEED, win));
    if (rank == 0) {
        expect_refused("after a fence that opens no epoch");
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win));
        MPI_CHECK(MPI_Win_unlock(1, win));
        expect_refused("after MPI_Win_unlock");
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    for (int i = 0; i < WORDS; ++i)
        if (mem[i] != -value(round, rank, i))
            fail("word %d changed by a put outside any epoch", i);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    const char *expect = argc > 1 ? argv[1] : "any";
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    mem = malloc(WORDS * sizeof(int));
    buf = malloc(WORDS * sizeof(int));
    if (mem == NULL || buf == NULL || nranks < 2)
        fail("needs 2 ranks and memory");
    MPI_CHECK(
        MPI_Win_create(mem, WORDS * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));
    for (int round = 0; round < rounds; ++round) {
        lock_phase(round);
        phase = "all";
        ring(round, lock_all, flush, unlock_all);
        phase = "fence";
        ring(round, fence, no_flush, fence);
        pscw_phase(round);
        computing_phase(round);
    }
    exclusive_phase(rounds * 4);
    accumulate_phase(rounds * 4);
    no_epoch_phase(rounds);
    phase = "path";
    uint64_t mine[4], all[4];
    route_host_stats(win, mine);
    MPI_CHECK(MPI_Allreduce(mine, all, 4, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD));
    if (strcmp(expect, "shared") == 0 && rank == 0 && (all[0] == 0 || all[1] == 0))
        fail("no transfer was shared with its target (%llu transfers here, %llu chunks "
             "helped)",
             (unsigned long long)all[0], (unsigned long long)all[1]);
    if (strcmp(expect, "shared") == 0 && rank == 0 && all[2] == 0)
        fail("no transfer was left to osc/rdma after one its target did not help with");
    if (strcmp(expect, "shared") == 0 && rank == 0 && all[3] == 0)
        fail("no accumulate was shared with its target");
    if (rank == 0)
        printf("mpi_rma_host: %d ranks, %d rounds: %llu transfers shared, %llu chunks copied "
               "by their targets, %llu left to osc/rdma, %llu accumulates shared\n",
               nranks, rounds, (unsigned long long)all[0], (unsigned long long)all[1],
               (unsigned long long)all[2], (unsigned long long)all[3]);
    MPI_CHECK(MPI_Win_free(&win));
    free(mem);
    free(buf);
    MPI_Finalize();
    return 0;
}
