/* MPI one-sided put and get, latency and bandwidth, 1 B .. 64 MiB, between
 * two ranks on an MPI_Win_allocate window (VE memory when run over veshm with
 * Open MPI), or with "ve" on an MPI_Win_create window on VE memory the
 * program allocates itself (MPICH, whose MPI_Win_allocate memory is always
 * host memory; needs the veshm module loaded).
 * Rank 0 drives, rank 1 is a passive target. Output, one line per size:
 *   size put_lat_us put_bw_MBps get_lat_us get_bw_MBps put_bw_median get_bw_median
 * latency: one operation + MPI_Win_flush, averaged; bandwidth: a stream of
 * operations with a flush every 16, best (and median) of the repetitions.
 * Usage: bench_mpi_rma [max_bytes] [repetitions] [ve] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_clock.h"
#include "ve_memory_alloc.h"

#define MIB ((size_t)1 << 20)
#define MAX_REPS 100

static MPI_Win win;

typedef int (*rma_fn)(void *, int, MPI_Datatype, int, MPI_Aint, int, MPI_Datatype, MPI_Win);

static int do_put(void *b, int n, MPI_Datatype t, int r, MPI_Aint d, int tn, MPI_Datatype tt,
                  MPI_Win w) {
    return MPI_Put(b, n, t, r, d, tn, tt, w);
}

static int do_get(void *b, int n, MPI_Datatype t, int r, MPI_Aint d, int tn, MPI_Datatype tt,
                  MPI_Win w) {
    return MPI_Get(b, n, t, r, d, tn, tt, w);
}

/* Microseconds per operation, each completed by a flush before the next. */
static double latency(rma_fn op, char *buf, size_t n, int iters) {
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        op(buf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, win);
        MPI_Win_flush(1, win);
    }
    return (MPI_Wtime() - t0) * 1e6 / iters;
}

/* MB/s (10^6 bytes per second) of a stream of operations. */
static double bandwidth(rma_fn op, char *buf, size_t n, int iters) {
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        op(buf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, win);
        if (i % 16 == 15)
            MPI_Win_flush(1, win);
    }
    MPI_Win_flush(1, win);
    return (double)n * iters / (MPI_Wtime() - t0) / 1e6;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    size_t max = argc > 1 ? strtoull(argv[1], NULL, 0) : 64 * MIB;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    reps = reps < 1 ? 1 : reps > MAX_REPS ? MAX_REPS : reps;
    if (n != 2) {
        if (rank == 0)
            fprintf(stderr, "bench_mpi_rma: run with exactly 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    char *base;
    struct ve_window_memory ve = {0};
    int on_ve = argc > 3 && strcmp(argv[3], "ve") == 0;
    if (on_ve) {
        size_t size = max;
        base = ve_memory_alloc(&size, &ve);
        if (base == NULL) {
            fprintf(stderr, "bench_mpi_rma: no VE memory (is the veshm module loaded?)\n");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        MPI_Win_create(base, (MPI_Aint)max, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    } else {
        MPI_Win_allocate((MPI_Aint)max, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
    }
    memset(base, rank, max);
    char *buf = malloc(max);
    memset(buf, 7, max);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        MPI_Win_lock(MPI_LOCK_SHARED, 1, 0, win);
        printf("# size put_lat_us put_bw_MBps get_lat_us get_bw_MBps\n");
        for (size_t s = 1; s <= max; s *= 2) {
            /* About 64 MiB (bandwidth) and 4 MiB (latency) per repetition,
             * within bounds on the operation count. */
            int bw_iters = (int)(64 * MIB / s), lat_iters = (int)(4 * MIB / s);
            bw_iters = bw_iters < 16 ? 16 : bw_iters > 20000 ? 20000 : bw_iters;
            lat_iters = lat_iters < 4 ? 4 : lat_iters > 2000 ? 2000 : lat_iters;
            double pl = 1e30, pb = 0, gl = 1e30, gb = 0, pbs[MAX_REPS], gbs[MAX_REPS];
            bandwidth(do_put, buf, s, 4); /* warm-up: registration, first touch */
            bandwidth(do_get, buf, s, 4);
            for (int r = 0; r < reps; r++) {
                double x;
                if ((x = latency(do_put, buf, s, lat_iters)) < pl)
                    pl = x;
                if ((pbs[r] = x = bandwidth(do_put, buf, s, bw_iters)) > pb)
                    pb = x;
                if ((x = latency(do_get, buf, s, lat_iters)) < gl)
                    gl = x;
                if ((gbs[r] = x = bandwidth(do_get, buf, s, bw_iters)) > gb)
                    gb = x;
            }
            printf("%zu %.3f %.1f %.3f %.1f %.1f %.1f\n", s, pl, pb, gl, gb,
                   bench_median(pbs, reps), bench_median(gbs, reps));
            fflush(stdout);
        }
        MPI_Win_unlock(1, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_free(&win);
    if (on_ve)
        ve_memory_free(&ve);
    free(buf);
    MPI_Finalize();
    return 0;
}
