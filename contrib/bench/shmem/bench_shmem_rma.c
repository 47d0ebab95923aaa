/* OpenSHMEM on the symmetric heap between two PEs: putmem + quiet, getmem, a
 * run of putmems then one quiet (put_rate: OSU's osu_oshm_put_mr, 500 puts
 * of one size at consecutive addresses; us per put) and a 64-bit fetch-add,
 * each size for a fixed time rather than a fixed count. On a node whose
 * cores all compute, a PE loses its core for whole scheduler time slices
 * (milliseconds); a count of operations that takes less than a slice (OSU's
 * 100 or 10000) measures whether a preemption fell into it, not the path. A
 * loop that runs for many slices takes each path's share of them into its
 * mean.
 * PE 0 drives; PE 1 waits in shmem_barrier_all, polling, as OSU's target
 * does. Then 32-bit atomic adds in OSU's pattern: passes of 500 adds, one
 * per cache line of a 32 KiB buffer, then quiet, timed alone between two
 * barriers; before each pass PE 1 rewrites the buffer (add_written: each
 * add waits for a line the other core holds, as in osu_oshm_atomics,
 * where every PE memsets its buffer first) or does not (add_kept). Output,
 * one line per operation and size:
 *   op size us_per_op operations
 * Usage: bench_shmem_rma [max_bytes] [milliseconds_per_size] */
#include <shmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_clock.h"

enum op { PUT, GET, PUT_RATE, FADD };
static const char *const op_name[] = {"put", "get", "put_rate", "fadd"};

static long long *counter; /* on the symmetric heap: the fetch-add's target */

enum { PASS_ADDS = 500, LINE = 64, RATE_PUTS = 500 };

/* Mean microseconds per atomic add over passes of PASS_ADDS adds (one per
 * line of lines, PASS_ADDS * LINE bytes), for at least budget_us of passes;
 * PE 1 rewrites lines before every pass when `written`. Both PEs call it. */
static double timed_adds(char *lines, int written, double budget_us, long *count) {
    static int stop; /* symmetric: PE 0 tells PE 1 the last pass */
    double spent = 0, t0 = bench_now_us();
    long passes = 0;
    stop = 0;
    shmem_barrier_all();
    while (!stop) {
        if (shmem_my_pe() == 1 && (written || passes == 0))
            memset(lines, (int)passes, PASS_ADDS * LINE);
        shmem_barrier_all();
        int last = 0;
        if (shmem_my_pe() == 0) {
            double t = bench_now_us();
            for (int i = 0; i < PASS_ADDS; i++)
                shmem_int_atomic_add((int *)(lines + (size_t)i * LINE), 1, 1);
            shmem_quiet();
            spent += bench_now_us() - t;
            last = bench_now_us() - t0 >= budget_us;
            if (last)
                shmem_int_p(&stop, 1, 1);
        }
        passes++;
        shmem_barrier_all(); /* completes the put of stop */
        if (last)
            stop = 1;
    }
    /* Kept lines were set to 0 once, then took one add per pass. */
    for (int i = 0; !written && shmem_my_pe() == 1 && i < PASS_ADDS; i++) {
        if (*(int *)(lines + (size_t)i * LINE) != passes) {
            fprintf(stderr, "bench_shmem_rma: line %d took %d of %ld adds\n", i,
                    *(int *)(lines + (size_t)i * LINE), passes);
            shmem_global_exit(1);
        }
    }
    *count = passes * PASS_ADDS;
    return spent / (double)*count;
}

/* One operation, or for PUT_RATE a run of them; how many. */
static long run_once(enum op op, char *local, char *remote, size_t n, size_t max) {
    long puts = 1;
    switch (op) {
    case PUT:
        shmem_putmem(remote, local, n, 1);
        shmem_quiet();
        break;
    case GET:
        shmem_getmem(local, remote, n, 1);
        break;
    case PUT_RATE: {
        size_t slots = max / n; /* a run longer than max wraps around */
        puts = RATE_PUTS;
        for (long i = 0; i < puts; i++) {
            size_t off = (size_t)i % slots * n;
            shmem_putmem(remote + off, local + off, n, 1);
        }
        shmem_quiet();
        break;
    }
    case FADD:
        (void)shmem_longlong_atomic_fetch_add(counter, 1, 1);
        break;
    }
    return puts;
}

/* Mean microseconds per operation over at least budget_us; the clock is read
 * every `batch` operations so that reading it costs little at 8 bytes. */
static double timed(enum op op, char *local, char *remote, size_t n, size_t max, double budget_us,
                    long *count) {
    for (int i = 0; i < 10; i++) /* first touch, registration, key caches */
        run_once(op, local, remote, n, max);
    long done = 0, batch = 1;
    double t0 = bench_now_us(), t = t0;
    while (t - t0 < budget_us) {
        for (long i = 0; i < batch; i++)
            done += run_once(op, local, remote, n, max);
        t = bench_now_us();
        if (t - t0 < budget_us / 100 && batch < (1l << 20))
            batch *= 2;
    }
    *count = done;
    return (t - t0) / (double)done;
}

int main(int argc, char **argv) {
    size_t max = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)4 << 20;
    double budget_us = (argc > 2 ? atof(argv[2]) : 100) * 1e3;
    shmem_init();
    if (shmem_n_pes() != 2) {
        if (shmem_my_pe() == 0)
            fprintf(stderr, "bench_shmem_rma: run with exactly 2 PEs\n");
        shmem_global_exit(2);
    }
    char *src = shmem_malloc(max), *dst = shmem_malloc(max);
    counter = shmem_malloc(sizeof(*counter));
    char *lines = shmem_malloc(PASS_ADDS * LINE);
    if (src == NULL || dst == NULL || counter == NULL || lines == NULL) {
        fprintf(stderr, "bench_shmem_rma: shmem_malloc of %zu bytes failed\n", max);
        shmem_global_exit(1);
    }
    memset(src, 'a', max);
    memset(dst, 'b', max);
    *counter = 0;
    shmem_barrier_all();
    if (shmem_my_pe() == 0)
        printf("# op size us_per_op operations\n");
    for (enum op op = PUT; op <= FADD; op++) {
        /* One fetch-add of 8 bytes, whatever max. */
        for (size_t s = op == FADD ? 8 : 1; op == FADD || s <= max; s *= 2) {
            if (shmem_my_pe() == 0) {
                long count;
                /* put: local src to remote dst; get: remote src to local dst. */
                double us = op == GET ? timed(op, dst, src, s, max, budget_us, &count)
                                      : timed(op, src, dst, s, max, budget_us, &count);
                printf("%s %zu %.4f %ld\n", op_name[op], s, us, count);
                fflush(stdout);
            }
            shmem_barrier_all();
            if (op == FADD)
                break;
        }
    }
    for (int written = 1; written >= 0; written--) {
        long count;
        double us = timed_adds(lines, written, budget_us, &count);
        if (shmem_my_pe() == 0) {
            printf("%s 4 %.4f %ld\n", written ? "add_written" : "add_kept", us, count);
            fflush(stdout);
        }
    }
    if (shmem_my_pe() == 1 && *counter == 0) {
        fprintf(stderr, "bench_shmem_rma: no fetch-add reached PE 1\n");
        shmem_global_exit(1);
    }
    shmem_free(lines);
    shmem_free(counter);
    shmem_free(dst);
    shmem_free(src);
    shmem_finalize();
    return 0;
}
