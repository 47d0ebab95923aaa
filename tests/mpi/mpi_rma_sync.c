/* Passive-target synchronization and atomicity, all ranks against rank 0's
 * window (MPI_Win_allocate):
 *   mpi_rma_sync direct|no-direct|any [iterations [allocate|create]]
 * exclusive:  read-modify-write of a counter under MPI_LOCK_EXCLUSIVE, with a
 *             pause between the read and the write: no update may be lost.
 * accumulate: MPI_Accumulate of predefined int64s (the same-host path of
 *             mpi_osc_route does it in place) and of a derived datatype of
 *             as many (that path hands it to osc/ucx) on the same counters,
 *             concurrently: the sums must be exact, so both ways must be
 *             atomic with respect to each other.
 * fetch:      MPI_Fetch_and_op and MPI_Get_accumulate with a derived type,
 *             mixed: every value fetched from the counter exactly once.
 * requests:   MPI_Rput, MPI_Rget, MPI_Raccumulate, MPI_Rget_accumulate (in
 *             place and, with a derived type, through osc/ucx): complete at
 *             MPI_Wait, which sets the request to MPI_REQUEST_NULL; fetched
 *             values once each, sums exact.
 * cas:        a spin lock built of MPI_Compare_and_swap guarding a plain
 *             get-put increment.
 * get_flush:  a strided get (derived datatype) complete at MPI_Win_flush.
 * zero_count: put, get, accumulates of count 0 change nothing.
 * win_sync:   the target's own stores, made visible by MPI_Win_sync in a
 *             lock_all epoch and a barrier, read by every rank.
 * fence:      in fence epochs, every rank puts to and accumulates at (in
 *             place and through osc/ucx) every rank, and gets strided: all
 *             of it in place, and the gets complete, after the next fence.
 * pscw:       every rank exposes its window to all and accesses all
 *             (post-start-complete-wait, or _test): what a target stored
 *             before its post is what the origins read after their start,
 *             and every origin's put and accumulates (in place and through
 *             osc/ucx) are in the target's memory when its wait returns.
 * large:      large puts, gets, accumulates, shared with the target.
 * own:        a target that has just put large data of its own does not
 *             share a peer's large put (phase_own_transfer).
 * "create" makes the window with MPI_Win_create on malloc'ed memory instead
 * (run with VESHM_OSC_ROUTE=ucx: osc/ucx reaches it through UCP's software
 * RMA emulation, whose operations complete only when the target answers).
 * The first argument says what must have carried the operations:
 * "direct": mpi_osc_route's same-host path (its counters, when the routing
 * library is there, must show operations done in place); "no-direct": none
 * of them (the control); "any": not checked. */
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
#include "run_apart.h"

static int rank, nranks;
static const char *phase = "init";
static MPI_Win win;
static int64_t *mem;
static MPI_Datatype one_int64; /* a derived datatype of one int64 */
static MPI_Datatype acc_type;  /* a derived datatype of ACC int64 */

#define MAX_RANKS 16
enum {
    EXCL_COUNTER,
    FETCH_COUNTER,
    CAS_LOCK,
    CAS_COUNTER,
    REQ_COUNTER,
    REQ_SUM,
    PSCW_MARK,
    PSCW_ACC,
    PSCW_DATA,
    FENCE_ACC,
    REQ_DATA = PSCW_DATA + MAX_RANKS,
    FENCE_DATA = REQ_DATA + MAX_RANKS,
    BLOCK = FENCE_DATA + MAX_RANKS
};
#define BLOCK_WORDS 128 /* written by rank 0 before the phases, read strided */
#define STRIDED (BLOCK_WORDS / 2 - 1)
#define ACC 256 /* counters added to by every accumulate, after the block */
#define ACC_AT (BLOCK + BLOCK_WORDS)
#define SLOTS (ACC_AT + ACC)

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mpi_fail_v("mpi_rma_sync", rank, nranks, phase, fmt, ap);
}

/* Long enough for another rank to get in between when exclusion is broken. */
static void pause_briefly(void) {
    struct timespec t = {0, 20000};
    nanosleep(&t, NULL);
}

static int64_t read_root(int slot) {
    int64_t v;
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    MPI_CHECK(MPI_Get(&v, 1, MPI_INT64_T, 0, slot, 1, MPI_INT64_T, win));
    MPI_CHECK(MPI_Win_unlock(0, win));
    return v;
}

static void phase_exclusive(int iterations) {
    phase = "exclusive";
    for (int i = 0; i < iterations; ++i) {
        int64_t v;
        MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
        MPI_CHECK(MPI_Get(&v, 1, MPI_INT64_T, 0, EXCL_COUNTER, 1, MPI_INT64_T, win));
        MPI_CHECK(MPI_Win_flush(0, win));
        pause_briefly();
        ++v;
        MPI_CHECK(MPI_Put(&v, 1, MPI_INT64_T, 0, EXCL_COUNTER, 1, MPI_INT64_T, win));
        MPI_CHECK(MPI_Win_unlock(0, win));
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int64_t want = (int64_t)iterations * nranks, got = read_root(EXCL_COUNTER);
    if (got != want)
        fail("counter %lld after %lld exclusive increments: updates lost", (long long)got,
             (long long)want);
}

/* Many counters at once, so that both ways take long enough to overlap. */
static void phase_accumulate(int iterations) {
    phase = "accumulate";
    int64_t ones[ACC], sums[ACC];
    for (int i = 0; i < ACC; ++i)
        ones[i] = 1;
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int i = 0; i < iterations; ++i) {
        if ((i + rank) % 2 == 0)
            MPI_CHECK(
                MPI_Accumulate(ones, ACC, MPI_INT64_T, 0, ACC_AT, ACC, MPI_INT64_T, MPI_SUM, win));
        else
            MPI_CHECK(MPI_Accumulate(ones, 1, acc_type, 0, ACC_AT, 1, acc_type, MPI_SUM, win));
        MPI_CHECK(MPI_Win_flush(0, win));
    }
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    MPI_CHECK(MPI_Get(sums, ACC, MPI_INT64_T, 0, ACC_AT, ACC, MPI_INT64_T, win));
    MPI_CHECK(MPI_Win_unlock(0, win));
    int64_t want = (int64_t)iterations * nranks;
    for (int i = 0; i < ACC; ++i)
        if (sums[i] != want)
            fail("counter %d: sum %lld after %lld accumulates of 1", i, (long long)sums[i],
                 (long long)want);
}

static int compare_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every rank fetched iterations values of one counter that all ranks added 1
 * to: together they must be 0..n-1, each once. Frees seen. */
static void check_fetched_once(int64_t *seen, int iterations) {
    int64_t *all = rank == 0 ? calloc((size_t)iterations * nranks, sizeof(*all)) : NULL;
    if (rank == 0 && all == NULL)
        fail("out of memory");
    MPI_CHECK(
        MPI_Gather(seen, iterations, MPI_INT64_T, all, iterations, MPI_INT64_T, 0, MPI_COMM_WORLD));
    if (rank == 0) {
        size_t n = (size_t)iterations * nranks;
        qsort(all, n, sizeof(*all), compare_int64);
        for (size_t i = 0; i < n; ++i)
            if (all[i] != (int64_t)i)
                fail("fetched values are not 0..%zu once each: position %zu holds %lld", n - 1, i,
                     (long long)all[i]);
    }
    free(seen);
    free(all);
}

static int64_t *fetch_buffer(int iterations) {
    int64_t *seen = calloc((size_t)iterations, sizeof(*seen));
    if (seen == NULL)
        fail("out of memory");
    return seen;
}

static void phase_fetch(int iterations) {
    phase = "fetch";
    const int64_t one = 1;
    int64_t *seen = fetch_buffer(iterations);
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    for (int i = 0; i < iterations; ++i) {
        if ((i + rank) % 2 == 0)
            MPI_CHECK(
                MPI_Fetch_and_op(&one, &seen[i], MPI_INT64_T, 0, FETCH_COUNTER, MPI_SUM, win));
        else
            MPI_CHECK(MPI_Get_accumulate(&one, 1, one_int64, &seen[i], 1, one_int64, 0,
                                         FETCH_COUNTER, 1, one_int64, MPI_SUM, win));
        MPI_CHECK(MPI_Win_flush(0, win));
    }
    MPI_CHECK(MPI_Win_unlock(0, win));
    check_fetched_once(seen, iterations);
}

/* The request an operation returned (set to MPI_REQUEST_NULL before it). */
static void wait_request(MPI_Request *request, const char *what) {
    if (*request == MPI_REQUEST_NULL)
        fail("%s returned no request", what);
    MPI_CHECK(MPI_Wait(request, MPI_STATUS_IGNORE));
    if (*request != MPI_REQUEST_NULL)
        fail("%s: the request is not MPI_REQUEST_NULL after MPI_Wait", what);
}

static void phase_requests(int iterations) {
    phase = "requests";
    const int64_t one = 1;
    int64_t *seen = fetch_buffer(iterations);
    MPI_Request r = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int i = 0; i < iterations; ++i) {
        int64_t mine = (int64_t)i * 100 + rank, back = -1;
        MPI_CHECK(MPI_Rput(&mine, 1, MPI_INT64_T, 0, REQ_DATA + rank, 1, MPI_INT64_T, win, &r));
        wait_request(&r, "MPI_Rput");
        MPI_CHECK(MPI_Win_flush(0, win));
        MPI_CHECK(MPI_Rget(&back, 1, MPI_INT64_T, 0, REQ_DATA + rank, 1, MPI_INT64_T, win, &r));
        wait_request(&r, "MPI_Rget");
        if (back != mine)
            fail("iteration %d: MPI_Rget after MPI_Wait read %lld, want %lld", i, (long long)back,
                 (long long)mine);
        MPI_Datatype t = (i + rank) % 2 ? one_int64 : MPI_INT64_T;
        MPI_CHECK(MPI_Rget_accumulate(&one, 1, t, &seen[i], 1, t, 0, REQ_COUNTER, 1, t, MPI_SUM,
                                      win, &r));
        wait_request(&r, "MPI_Rget_accumulate");
        MPI_CHECK(MPI_Raccumulate(&one, 1, t, 0, REQ_SUM, 1, t, MPI_SUM, win, &r));
        wait_request(&r, "MPI_Raccumulate");
    }
    MPI_CHECK(MPI_Win_unlock_all(win));
    check_fetched_once(seen, iterations);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        int64_t sum = read_root(REQ_SUM), want = (int64_t)iterations * nranks;
        if (sum != want)
            fail("MPI_Raccumulate sum %lld, want %lld", (long long)sum, (long long)want);
    }
}

static void phase_cas(int iterations) {
    phase = "cas";
    const int64_t unlocked = 0, locked = rank + 1;
    MPI_CHECK(MPI_Win_lock_all(0, win));
    for (int i = 0; i < iterations; ++i) {
        int64_t old;
        do {
            MPI_CHECK(
                MPI_Compare_and_swap(&locked, &unlocked, &old, MPI_INT64_T, 0, CAS_LOCK, win));
            MPI_CHECK(MPI_Win_flush(0, win));
        } while (old != unlocked);
        int64_t v;
        MPI_CHECK(MPI_Get(&v, 1, MPI_INT64_T, 0, CAS_COUNTER, 1, MPI_INT64_T, win));
        MPI_CHECK(MPI_Win_flush(0, win));
        ++v;
        MPI_CHECK(MPI_Put(&v, 1, MPI_INT64_T, 0, CAS_COUNTER, 1, MPI_INT64_T, win));
        MPI_CHECK(MPI_Win_flush(0, win));
        MPI_CHECK(MPI_Fetch_and_op(&unlocked, &old, MPI_INT64_T, 0, CAS_LOCK, MPI_REPLACE, win));
        MPI_CHECK(MPI_Win_flush(0, win));
        if (old != locked)
            fail("the CAS lock was held by %lld, not by this rank", (long long)old);
    }
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int64_t want = (int64_t)iterations * nranks, got = read_root(CAS_COUNTER);
    if (got != want)
        fail("counter %lld after %lld increments under the CAS lock", (long long)got,
             (long long)want);
}

/* A strided get (a derived datatype: osc/ucx carries it) must be complete
 * when MPI_Win_flush returns. */
static void phase_get_flush(void) {
    phase = "get_flush";
    MPI_Datatype every_other;
    MPI_CHECK(MPI_Type_vector(BLOCK_WORDS / 2, 1, 2, MPI_INT64_T, &every_other));
    MPI_CHECK(MPI_Type_commit(&every_other));
    int64_t got[BLOCK_WORDS / 2];
    memset(got, 0xff, sizeof(got));
    MPI_CHECK(MPI_Win_lock_all(0, win));
    MPI_CHECK(MPI_Get(got, BLOCK_WORDS / 2, MPI_INT64_T, 0, BLOCK + 1, 1, every_other, win));
    MPI_CHECK(MPI_Win_flush(0, win));
    for (int i = 0; i < BLOCK_WORDS / 2; ++i)
        if (got[i] != 1000 + 2 * i + 1)
            fail("word %d after the flush: %lld, want %d", i, (long long)got[i], 1000 + 2 * i + 1);
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); /* before the block changes */
    MPI_CHECK(MPI_Type_free(&every_other));
}

/* The target writes its window in a lock_all epoch, MPI_Win_sync, a barrier:
 * then every rank reads the new values (the MPICH pattern of
 * wrma_flush_get and of its MCS mutex). */
static void phase_win_sync(void) {
    phase = "win_sync";
    MPI_CHECK(MPI_Win_lock_all(0, win));
    if (rank == 0) {
        for (int i = 0; i < BLOCK_WORDS; ++i)
            mem[BLOCK + i] = 5000 + i;
        MPI_CHECK(MPI_Win_sync(win));
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    int64_t got[BLOCK_WORDS];
    MPI_CHECK(MPI_Get(got, BLOCK_WORDS, MPI_INT64_T, 0, BLOCK, BLOCK_WORDS, MPI_INT64_T, win));
    MPI_CHECK(MPI_Win_flush(0, win));
    for (int i = 0; i < BLOCK_WORDS; ++i)
        if (got[i] != 5000 + i)
            fail("word %d: %lld, want %d", i, (long long)got[i], 5000 + i);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Win_unlock_all(win));
}

/* Operations of count 0 move nothing, whichever path takes them. */
static void phase_zero_count(void) {
    phase = "zero_count";
    int64_t before = read_root(EXCL_COUNTER), buf = -7, result = -9;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Win_lock_all(0, win));
    MPI_CHECK(MPI_Put(&buf, 0, MPI_INT64_T, 0, EXCL_COUNTER, 0, MPI_INT64_T, win));
    MPI_CHECK(MPI_Accumulate(&buf, 0, MPI_INT64_T, 0, EXCL_COUNTER, 0, MPI_INT64_T, MPI_SUM, win));
    MPI_CHECK(MPI_Get_accumulate(&buf, 0, MPI_INT64_T, &result, 0, MPI_INT64_T, 0, EXCL_COUNTER, 0,
                                 MPI_INT64_T, MPI_SUM, win));
    MPI_CHECK(MPI_Get(&buf, 0, MPI_INT64_T, 0, EXCL_COUNTER, 0, MPI_INT64_T, win));
    MPI_CHECK(MPI_Win_flush_all(win));
    MPI_CHECK(MPI_Win_unlock_all(win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (buf != -7 || result != -9)
        fail("a get of count 0 wrote its buffer");
    int64_t after = read_root(EXCL_COUNTER);
    if (after != before)
        fail("count-0 operations changed the target: %lld, was %lld", (long long)after,
             (long long)before);
}

/* The operations of epoch k of the fence and PSCW phases, towards every
 * rank: this rank's value into data + rank, 1 added to acc in place and 1
 * through osc/ucx (a derived type), and a strided get (osc/ucx) of the
 * target's block, last so that the accumulates' flushes do not complete it
 * before the epoch's end does. */
static void epoch_operations(int k, int data, int acc, MPI_Datatype every_other,
                             int64_t strided[][STRIDED]) {
    int64_t one = 1, mine = (int64_t)k * 1000 + rank;
    memset(strided, 0xff, sizeof(int64_t) * STRIDED * (size_t)nranks);
    for (int t = 0; t < nranks; ++t) {
        MPI_CHECK(MPI_Put(&mine, 1, MPI_INT64_T, t, data + rank, 1, MPI_INT64_T, win));
        MPI_CHECK(MPI_Accumulate(&one, 1, MPI_INT64_T, t, acc, 1, MPI_INT64_T, MPI_SUM, win));
        MPI_CHECK(MPI_Accumulate(&one, 1, one_int64, t, acc, 1, one_int64, MPI_SUM, win));
        MPI_CHECK(MPI_Get(strided[t], STRIDED, MPI_INT64_T, t, BLOCK + k % 2, 1, every_other, win));
    }
}

/* The strided gets of epoch k, once the epoch has ended at the origin. */
static void check_strided(int k, int64_t strided[][STRIDED], const char *after) {
    for (int t = 0; t < nranks; ++t) {
        int64_t base = (t == 0 ? 5000 : 1000) + k % 2; /* rank 0's block: phase win_sync */
        for (int i = 0; i < STRIDED; ++i)
            if (strided[t][i] != base + 2 * i)
                fail("epoch %d: strided get of rank %d after the %s: word %d is %lld, want %lld", k,
                     t, after, i, (long long)strided[t][i], (long long)base + 2 * i);
    }
}

/* What every rank wrote into this one in epoch k, once it has ended here. */
static void check_received(int k, int data, int acc, const char *after) {
    for (int o = 0; o < nranks; ++o)
        if (mem[data + o] != (int64_t)k * 1000 + o)
            fail("epoch %d: rank %d's put after the %s: %lld, want %lld", k, o, after,
                 (long long)mem[data + o], (long long)k * 1000 + o);
    if (mem[acc] != (int64_t)k * 2 * nranks)
        fail("epoch %d: accumulated %lld after the %s, want %lld", k, (long long)mem[acc], after,
             (long long)k * 2 * nranks);
}

static void phase_fence(int iterations) {
    phase = "fence";
    MPI_Datatype every_other;
    MPI_CHECK(MPI_Type_vector(STRIDED, 1, 2, MPI_INT64_T, &every_other));
    MPI_CHECK(MPI_Type_commit(&every_other));
    static int64_t strided[MAX_RANKS][STRIDED];
    MPI_CHECK(MPI_Win_fence(MPI_MODE_NOPRECEDE, win));
    for (int k = 1; k <= iterations; ++k) {
        /* Every fifth epoch the last rank starts 2 ms late: a fence that
         * does not wait for every rank lets the others check before its
         * operations are there (otherwise only a lucky race shows it). */
        if (rank == nranks - 1 && k % 5 == 0) {
            struct timespec late = {0, 2000000};
            nanosleep(&late, NULL);
        } else {
            pause_briefly();
        }
        epoch_operations(k, FENCE_DATA, FENCE_ACC, every_other, strided);
        MPI_CHECK(MPI_Win_fence(0, win));
        check_strided(k, strided, "fence");
        check_received(k, FENCE_DATA, FENCE_ACC, "fence");
        /* Every rank has checked before the next epoch writes. */
        MPI_CHECK(MPI_Win_fence(0, win));
    }
    MPI_CHECK(MPI_Win_fence(MPI_MODE_NOSUCCEED, win));
    MPI_CHECK(MPI_Type_free(&every_other));
}

/* Post-start-complete-wait among all ranks. Each target is late to post by
 * a different amount each epoch and the origins read its mark at once, so a
 * start that did not wait for the post reads the previous epoch's; the
 * origins are late to write, so a wait that did not wait for the completes
 * finds the previous epoch's values. A strided get (osc/ucx carries it) of
 * the target's block must be complete when MPI_Win_complete returns. */
static void phase_pscw(int iterations) {
    phase = "pscw";
    MPI_Group world;
    MPI_CHECK(MPI_Win_get_group(win, &world));
    MPI_Datatype every_other;
    MPI_CHECK(MPI_Type_vector(STRIDED, 1, 2, MPI_INT64_T, &every_other));
    MPI_CHECK(MPI_Type_commit(&every_other));
    static int64_t strided[MAX_RANKS][STRIDED];
    int64_t marks[MAX_RANKS];
    for (int k = 1; k <= iterations; ++k) {
        struct timespec late = {0, 100000L * ((k + rank) % nranks)};
        nanosleep(&late, NULL);
        mem[PSCW_MARK] = (int64_t)k * 1000 + rank;
        MPI_CHECK(MPI_Win_post(world, 0, win));
        MPI_CHECK(MPI_Win_start(world, 0, win));
        for (int t = 0; t < nranks; ++t)
            MPI_CHECK(MPI_Get(&marks[t], 1, MPI_INT64_T, t, PSCW_MARK, 1, MPI_INT64_T, win));
        pause_briefly();
        epoch_operations(k, PSCW_DATA, PSCW_ACC, every_other, strided);
        MPI_CHECK(MPI_Win_complete(win));
        for (int t = 0; t < nranks; ++t)
            if (marks[t] != (int64_t)k * 1000 + t)
                fail("epoch %d: rank %d's mark read after the start: %lld, want %lld", k, t,
                     (long long)marks[t], (long long)k * 1000 + t);
        check_strided(k, strided, "complete");
        if (k % 2) {
            MPI_CHECK(MPI_Win_wait(win));
        } else {
            int done = 0;
            while (!done)
                MPI_CHECK(MPI_Win_test(win, &done));
        }
        check_received(k, PSCW_DATA, PSCW_ACC, "wait");
    }
    MPI_CHECK(MPI_Type_free(&every_other));
    MPI_CHECK(MPI_Group_free(&world));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

/* Large transfers while the target polls inside MPI (a barrier): rank 0
 * puts 4 MiB into rank 1's window and gets them back, adds 4 MiB of
 * unsigned ints to them (MPI_Accumulate, MPI_SUM) and gets the sums, fetches
 * them (MPI_Get_accumulate, MPI_NO_OP), adds again fetching the sums
 * (MPI_Get_accumulate, MPI_SUM), then gets rank 1's own 4 MiB; every byte
 * checked. On the same-host path, rank
 * 1 does part of each while it polls (mpi_osc_route direct_help.c): with
 * "direct", the counters must say it did, of each kind of operation. */
#define LARGE (4u << 20)
/* core/wire/copy_help.h: such a transfer is 256 chunks of 16 KiB; the
 * target takes the last ones left, the origin the first ones, and a claim of
 * the target's is at most 8 chunks (VESHM_COPY_HELP_HELPER_CLAIM). */
#define HELP_CHUNKS 256u
#define HELP_CLAIM_MAX 8u
/* Every int of back (the target's, as got) is its int of out plus times
 * its int of add. */
static void check_sums(int round, const char *what, const uint8_t *out, const uint8_t *back,
                       const uint32_t *add, uint32_t times) {
    for (size_t i = LARGE / 4; i-- > 0;) {
        uint32_t was, got;
        memcpy(&was, out + 4 * i, 4);
        memcpy(&got, back + 4 * i, 4);
        if (got != was + times * add[i])
            fail("round %d: int %zu %s is %u, want %u + %u * %u", round, i, what, got, was, times,
                 add[i]);
    }
}

/* The offset of the target's last claim of a transfer of LARGE bytes (its
 * lowest chunks), from its count of the target's chunks before and after; -1
 * if it took none. *len: bytes from there that cover that claim (below the
 * size the target helps with, so that a get of them is the origin's alone). */
/* Chunks of w's large transfers from this rank that their targets copied. */
static uint64_t helped_chunks(MPI_Win w) {
    int loaded;
    uint64_t direct, through_ucx, helped;
    route_stats(w, &loaded, &direct, &through_ucx, &helped);
    return helped;
}

static long last_helped_claim(uint64_t before, uint64_t after, size_t *len) {
    if (after <= before || after - before > HELP_CHUNKS)
        return -1;
    uint64_t n = after - before < HELP_CLAIM_MAX ? after - before : HELP_CLAIM_MAX;
    *len = n * (LARGE / HELP_CHUNKS);
    return (long)((HELP_CHUNKS - (after - before)) * (LARGE / HELP_CHUNKS));
}

static void phase_large(const char *expect) {
    phase = "large";
    MPI_Win big;
    uint8_t *base, *out = malloc(LARGE), *back = malloc(LARGE);
    uint32_t *add = malloc(LARGE);
    uint64_t acc_helped = 0, fetch_helped = 0, get_acc_helped = 0;
    if (out == NULL || back == NULL || add == NULL)
        fail("out of memory");
    MPI_CHECK(MPI_Win_allocate(2 * LARGE, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &big));
    for (size_t i = 0; i < LARGE; ++i) {
        base[LARGE + i] = (uint8_t)(i * 7 + rank + 3);
        out[i] = (uint8_t)(i * 13 + 1);
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    /* Rank 1 helps only while it runs beside rank 0 (run_apart.h). */
    struct run_apart apart;
    if (rank < 2)
        run_apart_begin(&apart, 0, rank);
    if (rank == 0 && nranks > 1) {
        /* 16 rounds, then more (at most 300 in all) while the target has
         * done nothing of the transfers or of the accumulates yet where it
         * must have: whether it runs during a given one is the scheduler's
         * choice (4 ranks on 2 cores, other tests beside). */
        int want_help = strcmp(expect, "direct") == 0;
        uint64_t helped_now = 0;
        for (int round = 0; round < 16 || (want_help &&
                                           (helped_now == 0 || acc_helped == 0 ||
                                            fetch_helped == 0 || get_acc_helped == 0) &&
                                           round < 300);
             ++round) {
            out[round] ^= 0xff; /* each round other bytes */
            memset(back, 0, LARGE);
            uint64_t before = helped_chunks(big), after;
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, big));
            MPI_CHECK(MPI_Put(out, LARGE, MPI_BYTE, 1, 0, LARGE, MPI_BYTE, big));
            MPI_CHECK(MPI_Win_flush(1, big));
            after = helped_chunks(big);
            /* The claim the target took last, at once (with a get too small
             * to be shared): an origin that did not wait for it would find it
             * still being copied. Of the put, then of a get. */
            size_t len = 0;
            long last = last_helped_claim(before, after, &len);
            if (last >= 0) {
                MPI_CHECK(MPI_Get(back + last, (int)len, MPI_BYTE, 1, (MPI_Aint)last, (int)len,
                                  MPI_BYTE, big));
                MPI_CHECK(MPI_Win_flush(1, big));
                if (memcmp(back + last, out + last, len) != 0)
                    fail("round %d: the claim at %ld the target copied last differs from what "
                         "was put",
                         round, last);
                memset(back + last, 0, len);
            }
            before = helped_chunks(big);
            MPI_CHECK(MPI_Get(back, LARGE, MPI_BYTE, 1, 0, LARGE, MPI_BYTE, big));
            after = helped_chunks(big);
            last = last_helped_claim(before, after, &len);
            if (last >= 0 && memcmp(back + last, out + last, len) != 0)
                fail("round %d: the claim at %ld the target copied last of a get is not there",
                     round, last);
            MPI_CHECK(MPI_Win_unlock(1, big));
            for (size_t off = LARGE; off > 0; off -= 4096)
                if (memcmp(back + off - 4096, out + off - 4096, 4096) != 0)
                    fail("round %d: the 4 KiB at %zu got back differ from those put", round,
                         off - 4096);
            for (size_t i = 0; i < LARGE / 4; ++i)
                add[i] = (uint32_t)i * 2654435761u + (uint32_t)round;
            before = helped_chunks(big);
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, big));
            MPI_CHECK(MPI_Accumulate(add, LARGE / 4, MPI_UNSIGNED, 1, 0, LARGE / 4, MPI_UNSIGNED,
                                     MPI_SUM, big));
            MPI_CHECK(MPI_Win_flush(1, big));
            after = helped_chunks(big);
            acc_helped += after - before;
            helped_now = after;
            memset(back, 0, LARGE);
            MPI_CHECK(MPI_Get(back, LARGE, MPI_BYTE, 1, 0, LARGE, MPI_BYTE, big));
            MPI_CHECK(MPI_Win_unlock(1, big));
            check_sums(round, "accumulated", out, back, add, 1);
            /* MPI_Get_accumulate: with MPI_NO_OP a fetch, then with MPI_SUM
             * the same ints again: the sums come back, the target's ints
             * become was + 2 add. */
            for (int sum_op = 0; sum_op < 2; ++sum_op) {
                memset(back, 0, LARGE);
                before = helped_chunks(big);
                MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, big));
                MPI_CHECK(MPI_Get_accumulate(add, LARGE / 4, MPI_UNSIGNED, back, LARGE / 4,
                                             MPI_UNSIGNED, 1, 0, LARGE / 4, MPI_UNSIGNED,
                                             sum_op ? MPI_SUM : MPI_NO_OP, big));
                MPI_CHECK(MPI_Win_flush(1, big));
                after = helped_chunks(big);
                *(sum_op ? &get_acc_helped : &fetch_helped) += after - before;
                check_sums(round,
                           sum_op ? "fetched by get_accumulate (MPI_SUM)"
                                  : "fetched by get_accumulate (MPI_NO_OP)",
                           out, back, add, 1);
                MPI_CHECK(MPI_Win_unlock(1, big));
            }
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, big));
            MPI_CHECK(MPI_Get(back, LARGE, MPI_BYTE, 1, 0, LARGE, MPI_BYTE, big));
            MPI_CHECK(MPI_Win_unlock(1, big));
            check_sums(round, "after get_accumulate (MPI_SUM)", out, back, add, 2);
            MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, big));
            MPI_CHECK(MPI_Get(back, LARGE, MPI_BYTE, 1, LARGE, LARGE, MPI_BYTE, big));
            MPI_CHECK(MPI_Win_unlock(1, big));
            for (size_t i = LARGE; i-- > 0;)
                if (back[i] != (uint8_t)(i * 7 + 1 + 3))
                    fail("round %d: byte %zu of rank 1's own data: %u, want %u", round, i, back[i],
                         (uint8_t)(i * 7 + 1 + 3));
        }
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank < 2)
        run_apart_end(&apart);
    int loaded, ok = 1;
    uint64_t direct, through_ucx, helped;
    int has_state = route_stats(big, &loaded, &direct, &through_ucx, &helped);
    if (rank == 0) {
        printf("mpi_rma_sync [rank 0] large transfers: %llu chunks done by the target, %llu of "
               "them of accumulates, %llu of get_accumulates with MPI_NO_OP, %llu with MPI_SUM\n",
               (unsigned long long)helped, (unsigned long long)acc_helped,
               (unsigned long long)fetch_helped, (unsigned long long)get_acc_helped);
        ok = strcmp(expect, "direct") != 0 || !loaded || nranks < 2 ||
             (has_state && helped > 0 && acc_helped > 0 && fetch_helped > 0 && get_acc_helped > 0);
    }
    MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (!ok && rank == 0)
        fail("the target did no part of the large transfers, or of the accumulates or "
             "get_accumulates, while it polled");
    MPI_CHECK(MPI_Win_free(&big));
    free(add);
    free(out);
    free(back);
}

/* A rank that has just moved large data of its own helps no peer for a while
 * (mpi_osc_route/direct_help.c, OWN_QUIET_NS: 10 ms): in pairs of trials,
 * rank 0 puts LARGE into rank 1's window while rank 1 polls in a barrier,
 * rank 1 having slept 30 ms first (quiet) or having just put LARGE into
 * rank 0's window itself (busy). Rank 1 must help quiet trials' puts (8 of
 * them, within 200 pairs) and at most a quarter as many busy ones (the
 * scheduler may stall rank 0 past the 10 ms in one now and then). */
static void phase_own_transfer(const char *expect) {
    if (strcmp(expect, "direct") != 0 || nranks < 2)
        return;
    phase = "own";
    MPI_Win big;
    uint8_t *base, *out = malloc(LARGE);
    if (out == NULL)
        fail("out of memory");
    MPI_CHECK(MPI_Win_allocate(LARGE, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &big));
    memset(out, rank + 1, LARGE);
    struct run_apart apart;
    if (rank < 2)
        run_apart_begin(&apart, 0, rank);
    int helped[2] = {0, 0}, more = 1;
    for (int pair = -2; more; ++pair) { /* two pairs to warm the pages first */
        for (int busy = 0; busy < 2; ++busy) {
            if (rank == 1 && !busy) {
                struct timespec nap = {0, 30 * 1000 * 1000};
                nanosleep(&nap, NULL);
            }
            MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
            if (rank == 1 && busy) {
                MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, big));
                MPI_CHECK(MPI_Put(out, LARGE, MPI_BYTE, 0, 0, LARGE, MPI_BYTE, big));
                MPI_CHECK(MPI_Win_unlock(0, big));
            }
            MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
            if (rank == 0) {
                uint64_t before = helped_chunks(big), after;
                MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, big));
                MPI_CHECK(MPI_Put(out, LARGE, MPI_BYTE, 1, 0, LARGE, MPI_BYTE, big));
                MPI_CHECK(MPI_Win_unlock(1, big));
                after = helped_chunks(big);
                helped[busy] += pair >= 0 && after > before;
            }
            MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); /* rank 1 polls here */
        }
        more = pair < 200 && helped[0] < 8;
        MPI_CHECK(MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD));
    }
    if (rank < 2)
        run_apart_end(&apart);
    /* Each of ranks 0 and 1 holds the other's bytes. */
    int ok = 1;
    for (size_t i = 0; rank < 2 && i < LARGE; ++i)
        ok &= base[i] == (uint8_t)(2 - rank);
    int all;
    MPI_CHECK(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (rank == 0) {
        printf("mpi_rma_sync [rank 0] puts the target helped: %d after it slept, %d after its "
               "own put\n",
               helped[0], helped[1]);
        if (!all)
            fail("a window does not hold the bytes its peer put");
        if (helped[0] < 8)
            fail("the target helped %d puts after it slept, want 8", helped[0]);
        if (helped[1] * 4 > helped[0])
            fail("the target helped %d puts right after its own, against %d after it slept",
                 helped[1], helped[0]);
    }
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_CHECK(MPI_Win_free(&big));
    free(out);
}

/* What mpi_osc_route counted for the window, when it is loaded. */
static void check_path(const char *expect) {
    phase = "path";
    int loaded;
    uint64_t direct, through_ucx, helped;
    int has_state = route_stats(win, &loaded, &direct, &through_ucx, &helped);
    printf("mpi_rma_sync [rank %d] routing library %s, same-host state %s, %llu operations "
           "in place, %llu through osc/ucx\n",
           rank, loaded ? "loaded" : "absent", has_state ? "yes" : "no", (unsigned long long)direct,
           (unsigned long long)through_ucx);
    /* One verdict, said by rank 0 alone: mpirun (Open MPI 4.1.4) can hang
     * when several ranks abort at once. */
    int mine = strcmp(expect, "direct") == 0      ? has_state && direct > 0
               : strcmp(expect, "no-direct") == 0 ? direct == 0
                                                  : 1;
    int all = 0;
    MPI_CHECK(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (!all && rank == 0)
        fail(strcmp(expect, "direct") == 0 ? "no operation took the same-host path"
                                           : "operations took the same-host path");
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "direct") != 0 && strcmp(argv[1], "no-direct") != 0 &&
                     strcmp(argv[1], "any") != 0)) {
        fprintf(stderr, "usage: mpi_rma_sync direct|no-direct|any [iterations]\n");
        return 2;
    }
    int iterations = argc > 2 ? atoi(argv[2]) : 200;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (nranks > MAX_RANKS) {
        fprintf(stderr, "mpi_rma_sync: at most %d ranks\n", MAX_RANKS);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_CHECK(MPI_Type_contiguous(1, MPI_INT64_T, &one_int64));
    MPI_CHECK(MPI_Type_commit(&one_int64));
    MPI_CHECK(MPI_Type_contiguous(ACC, MPI_INT64_T, &acc_type));
    MPI_CHECK(MPI_Type_commit(&acc_type));
    int create = argc > 3 && strcmp(argv[3], "create") == 0;
    if (create) {
        mem = calloc(SLOTS, sizeof(int64_t));
        MPI_CHECK(MPI_Win_create(mem, SLOTS * sizeof(int64_t), sizeof(int64_t), MPI_INFO_NULL,
                                 MPI_COMM_WORLD, &win));
    } else {
        MPI_CHECK(MPI_Win_allocate(SLOTS * sizeof(int64_t), sizeof(int64_t), MPI_INFO_NULL,
                                   MPI_COMM_WORLD, &mem, &win));
    }
    MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, win));
    memset(mem, 0, SLOTS * sizeof(int64_t));
    for (int i = 0; i < BLOCK_WORDS; ++i)
        mem[BLOCK + i] = 1000 + i;
    MPI_CHECK(MPI_Win_unlock(rank, win));
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));

    phase_exclusive(iterations / 4);
    phase_accumulate(iterations);
    phase_fetch(iterations);
    phase_cas(iterations / 4);
    phase_get_flush();
    phase_win_sync();
    phase_zero_count();
    phase_fence(iterations / 4);
    phase_pscw(iterations / 4);
    /* Last: on osc/ucx alone (the control, or Open MPI 4.1.4 without the
     * routing library) an MPI_Compare_and_swap after request-based
     * operations hangs, in every run of 2 ranks. */
    phase_requests(iterations);
    check_path(argv[1]);
    phase_large(argv[1]);
    phase_own_transfer(argv[1]);

    MPI_CHECK(MPI_Win_free(&win));
    if (create)
        free(mem);
    MPI_CHECK(MPI_Type_free(&one_int64));
    MPI_CHECK(MPI_Type_free(&acc_type));
    if (rank == 0)
        printf("mpi_rma_sync %s: all checks passed\n", argv[1]);
    MPI_Finalize();
    return 0;
}
