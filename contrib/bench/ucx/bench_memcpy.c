/* The physical reference for the UCX benchmark: memcpy bandwidth between two
 * buffers of SIZE bytes, the way ucx_perftest's bandwidth tests reuse theirs.
 *   bench_memcpy SIZE [SECONDS]   -> prints "SIZE GB/s" (10^9 B/s), best of 5 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../bench_clock.h"

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    size_t size = strtoull(argv[1], NULL, 0);
    double seconds = argc > 2 ? atof(argv[2]) : 0.2;
    char *src = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
    char *dst = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
    if (src == NULL || dst == NULL)
        return 1;
    memset(src, 1, size);
    memset(dst, 2, size);
    double best = 0;
    for (int r = 0; r < 5; ++r) {
        size_t iters = 0;
        double t0 = bench_now_us(), t;
        do {
            for (int i = 0; i < 16; ++i) {
                memcpy(dst, src, size);
                __asm__ volatile("" ::"r"(dst) : "memory");
            }
            iters += 16;
            t = (bench_now_us() - t0) / 1e6;
        } while (t < seconds / 5);
        double bw = (double)size * iters / t / 1e9;
        if (bw > best)
            best = bw;
    }
    printf("%zu %.3f\n", size, best);
    free(src);
    free(dst);
    return 0;
}
