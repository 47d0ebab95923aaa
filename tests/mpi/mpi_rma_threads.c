/* Windows made and freed by one thread while another thread of the same
 * rank waits inside MPI and helps large transfers (MPI_THREAD_MULTIPLE):
 *   mpi_rma_threads [rounds]
 * The main thread keeps one window (on a communicator of its own); in round
 * k, rank k % n puts 1 MiB into the next rank's window in a lock_all epoch
 * while every other rank waits in a barrier, whose progress helps with the
 * copy (mpi_osc_route's direct_help.c); the target then checks every byte.
 * Meanwhile a second thread of every rank allocates windows, puts into the
 * next rank's in a fence epoch, checks what it got and frees them, on its
 * own communicator, until the main thread is done (which it is not before
 * every rank's second thread has freed MIN_CHURNED windows): the progress
 * callbacks of one thread walk the windows the other one frees. The job must
 * end with every byte right and some of the large puts helped by their
 * target. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <mpi.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_fail.h"
#include "route_stats.h"

static int rank, nranks;
static const char *phase = "init";

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mpi_fail_v("mpi_rma_threads", rank, nranks, phase, fmt, ap);
}

#define BIG ((size_t)1 << 20)
#define SMALL 4096
#define MIN_CHURNED 40

static uint8_t pattern(int round, int from, size_t i) {
    return (uint8_t)(round * 31 + from * 7 + i * 13 + (i >> 12));
}

/* What the second thread does; 1 once the main thread is done. */
static int main_done;
static MPI_Comm churn_comm;
static long churned; /* windows freed so far */

static void *churn(void *arg) {
    (void)arg;
    uint8_t *src = malloc(SMALL);
    if (src == NULL)
        fail("out of memory");
    int next = (rank + 1) % nranks, prev = (rank + nranks - 1) % nranks;
    for (int k = 0;; ++k) {
        /* Everyone stops at the same window: the last thread to see main_done
         * decides for all. */
        int done = __atomic_load_n(&main_done, __ATOMIC_ACQUIRE), all_done = 0;
        MPI_CHECK(MPI_Allreduce(&done, &all_done, 1, MPI_INT, MPI_MIN, churn_comm));
        if (all_done)
            break;
        uint8_t *base;
        MPI_Win w;
        MPI_CHECK(MPI_Win_allocate(SMALL, 1, MPI_INFO_NULL, churn_comm, &base, &w));
        for (size_t i = 0; i < SMALL; ++i)
            src[i] = pattern(k, rank, i);
        MPI_CHECK(MPI_Win_fence(0, w));
        MPI_CHECK(MPI_Put(src, SMALL, MPI_BYTE, next, 0, SMALL, MPI_BYTE, w));
        MPI_CHECK(MPI_Win_fence(0, w));
        for (size_t i = 0; i < SMALL; ++i)
            if (base[i] != pattern(k, prev, i))
                fail("churned window %d byte %zu: %u, not %u", k, i, base[i], pattern(k, prev, i));
        MPI_CHECK(MPI_Win_free(&w));
        __atomic_store_n(&churned, churned + 1, __ATOMIC_RELAXED);
    }
    free(src);
    return NULL;
}

int main(int argc, char **argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (provided != MPI_THREAD_MULTIPLE)
        fail("MPI_THREAD_MULTIPLE not provided (%d)", provided);
    if (nranks < 2)
        fail("needs 2 ranks or more");
    int rounds = argc > 1 ? atoi(argv[1]) : 60;
    MPI_Comm main_comm;
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &main_comm));
    MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &churn_comm));

    phase = "main window";
    uint8_t *base, *src = malloc(BIG);
    if (src == NULL)
        fail("out of memory");
    MPI_Win win;
    MPI_CHECK(MPI_Win_allocate(BIG, 1, MPI_INFO_NULL, main_comm, &base, &win));
    pthread_t t;
    if (pthread_create(&t, NULL, churn, NULL) != 0)
        fail("pthread_create");

    phase = "rounds";
    int next = (rank + 1) % nranks;
    /* At least the rounds asked for, and until every rank's second thread has
     * freed MIN_CHURNED windows beside them. */
    for (int k = 0;; ++k) {
        long mine = __atomic_load_n(&churned, __ATOMIC_RELAXED), least = 0;
        MPI_CHECK(MPI_Allreduce(&mine, &least, 1, MPI_LONG, MPI_MIN, main_comm));
        if (k >= rounds && least >= MIN_CHURNED) {
            rounds = k;
            break;
        }
        int origin = k % nranks, target = (origin + 1) % nranks;
        if (rank == origin) {
            for (size_t i = 0; i < BIG; ++i)
                src[i] = pattern(k, rank, i);
            MPI_CHECK(MPI_Win_lock_all(0, win));
            MPI_CHECK(MPI_Put(src, (int)BIG, MPI_BYTE, next, 0, (int)BIG, MPI_BYTE, win));
            MPI_CHECK(MPI_Win_unlock_all(win));
        }
        MPI_CHECK(MPI_Barrier(main_comm));
        if (rank == target)
            for (size_t i = 0; i < BIG; ++i)
                if (base[i] != pattern(k, origin, i))
                    fail("round %d byte %zu: %u, not %u", k, i, base[i], pattern(k, origin, i));
        MPI_CHECK(MPI_Barrier(main_comm));
    }
    __atomic_store_n(&main_done, 1, __ATOMIC_RELEASE);
    if (pthread_join(t, NULL) != 0)
        fail("pthread_join");

    phase = "help";
    /* The routing library (veshm mode preloads it) must have given the
     * window its same-host state, and shared some of the big puts with
     * their target while windows came and went. */
    int loaded = 0;
    uint64_t direct = 0, through_ucx = 0, mine = 0, all = 0;
    int has_state = route_stats(win, &loaded, &direct, &through_ucx, &mine);
    if (!loaded || !has_state)
        fail("the window has no same-host state (routing library %s)",
             loaded ? "loaded" : "not loaded");
    MPI_CHECK(MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD));
    if (all == 0)
        fail("no chunk of %d puts of 1 MiB was helped", rounds);
    long churned_min = 0;
    MPI_CHECK(MPI_Allreduce(&churned, &churned_min, 1, MPI_LONG, MPI_MIN, MPI_COMM_WORLD));
    if (rank == 0)
        printf("mpi_rma_threads: %d rounds of 1 MiB, %llu chunks helped, %ld windows made and "
               "freed beside them\n",
               rounds, (unsigned long long)all, churned_min);
    MPI_CHECK(MPI_Win_free(&win));
    free(src);
    MPI_Comm_free(&main_comm);
    MPI_Comm_free(&churn_comm);
    MPI_Finalize();
    return 0;
}
