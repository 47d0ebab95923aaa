/* One large copy between shared memory (a memfd mapping, as a window or a
 * peer's view is) and private memory, both ways: one memcpy (the reference)
 * against the same bytes in the pieces of core/wire/copy_pieces.h, warm
 * buffers, alternated.
 *   bench_copy_pieces [MAX_BYTES] -> one line per size from 256 KiB:
 *   "SIZE ONE_GET_US PIECES_GET_US ONE_PUT_US PIECES_PUT_US", medians of 9
 *   rounds of the best of 20 copies. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../bench_clock.h"
#include "wire/copy_pieces.h"

#define ROUNDS 9
#define COPIES 20

static void one(void *dst, const void *src, size_t n) {
    memcpy(dst, src, n);
}

/* Best of COPIES copies of n bytes by copy, us. */
static double best(void (*copy)(void *, const void *, size_t), uint8_t *dst, const uint8_t *src,
                   size_t n) {
    double b = 1e30;
    for (int i = 0; i < COPIES; ++i) {
        double t0 = bench_now_us();
        copy(dst, src, n);
        __asm__ volatile("" : : "r"(dst) : "memory");
        double t = bench_now_us() - t0;
        b = t < b ? t : b;
    }
    return b;
}

int main(int argc, char **argv) {
    size_t max = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)8 << 20;
    int fd = memfd_create("bench_copy_pieces", 0);
    if (fd < 0 || ftruncate(fd, (off_t)max) != 0)
        return 1;
    uint8_t *shared = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *priv = aligned_alloc(4096, max);
    if (shared == MAP_FAILED || priv == NULL)
        return 1;
    memset(shared, 1, max);
    memset(priv, 2, max);
    for (size_t n = 256 << 10; n <= max; n *= 2) {
        double t[4][ROUNDS];
        for (int r = 0; r < ROUNDS; ++r) {
            t[0][r] = best(one, priv, shared, n);
            t[1][r] = best(veshm_copy_pieces, priv, shared, n);
            t[2][r] = best(one, shared, priv, n);
            t[3][r] = best(veshm_copy_pieces, shared, priv, n);
        }
        printf("%zu", n);
        for (int c = 0; c < 4; ++c)
            printf(" %.3f", bench_median(t[c], ROUNDS));
        printf("\n");
    }
    if (memcmp(shared, priv, max) != 0) {
        fprintf(stderr, "bench_copy_pieces: the copies are wrong\n");
        return 1;
    }
    return 0;
}
