/* OpenSHMEM on the symmetric heap between two PEs: putmem + quiet, getmem
 * and a 64-bit fetch-add, each size for a fixed time rather than a fixed
 * count. On a node whose cores all compute, a PE loses its core for whole
 * scheduler time slices (milliseconds); a count of operations that takes
 * less than a slice (OSU's 100 or 10000) measures whether a preemption fell
 * into it, not the path. A loop that runs for many slices takes each path's
 * share of them into its mean.
 * PE 0 drives; PE 1 waits in shmem_barrier_all, polling, as OSU's target
 * does. Output, one line per operation and size:
 *   op size us_per_op operations
 * Usage: bench_shmem_rma [max_bytes] [milliseconds_per_size] */
#include <shmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

enum op { PUT, GET, FADD };
static const char *const op_name[] = {"put", "get", "fadd"};

static long long *counter; /* on the symmetric heap: the fetch-add's target */

static void run_once(enum op op, char *local, char *remote, size_t n) {
    switch (op) {
    case PUT:
        shmem_putmem(remote, local, n, 1);
        shmem_quiet();
        break;
    case GET:
        shmem_getmem(local, remote, n, 1);
        break;
    case FADD:
        (void)shmem_longlong_atomic_fetch_add(counter, 1, 1);
        break;
    }
}

/* Mean microseconds per operation over at least budget_us; the clock is read
 * every `batch` operations so that reading it costs little at 8 bytes. */
static double timed(enum op op, char *local, char *remote, size_t n, double budget_us,
                    long *count) {
    for (int i = 0; i < 10; i++) /* first touch, registration, key caches */
        run_once(op, local, remote, n);
    long done = 0, batch = 1;
    double t0 = now_us(), t = t0;
    while (t - t0 < budget_us) {
        for (long i = 0; i < batch; i++)
            run_once(op, local, remote, n);
        done += batch;
        t = now_us();
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
    if (src == NULL || dst == NULL || counter == NULL) {
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
        for (size_t s = op == FADD ? 8 : 1; s <= max; s *= 2) {
            if (shmem_my_pe() == 0) {
                long count;
                /* put: local src to remote dst; get: remote src to local dst. */
                double us = op == GET ? timed(op, dst, src, s, budget_us, &count)
                                      : timed(op, src, dst, s, budget_us, &count);
                printf("%s %zu %.4f %ld\n", op_name[op], s, us, count);
                fflush(stdout);
            }
            shmem_barrier_all();
            if (op == FADD)
                break;
        }
    }
    if (shmem_my_pe() == 1 && *counter == 0) {
        fprintf(stderr, "bench_shmem_rma: no fetch-add reached PE 1\n");
        shmem_global_exit(1);
    }
    shmem_free(counter);
    shmem_free(dst);
    shmem_free(src);
    shmem_finalize();
    return 0;
}
