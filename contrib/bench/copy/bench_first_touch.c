/* What the first access of a page through a mapping costs, beyond the copy:
 * a second mapping of shared memory another mapping has filled (a peer's
 * view of VE memory), written with 64 KiB memcpy calls over 64 MiB, first
 * and second time, when the mapping is
 *   fresh      nothing done before (a page fault each page),
 *   populated  madvise(MADV_POPULATE_WRITE) first (no fault),
 *   loaded     populated, then one load a page (copy_help_map_in.h).
 * Under shadow paging (a PVM guest) the first access of a populated page
 * still costs microseconds; under nested paging it costs nothing.
 *   bench_first_touch [ROUNDS]  -> one line per case: "CASE PREPARE_US
 *   FIRST_US SECOND_US", microseconds per 64 KiB (medians of ROUNDS, 5). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "wire/copy_help_map_in.h"

#define TOTAL ((size_t)64 << 20)
#define PIECE ((size_t)64 << 10)
#define ROUNDS_MAX 31

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static double copy_all(uint8_t *to, const uint8_t *from) {
    double t0 = now_us();
    for (size_t o = 0; o < TOTAL; o += PIECE)
        memcpy(to + o, from, PIECE);
    return (now_us() - t0) / (double)(TOTAL / PIECE);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[n / 2];
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1 || rounds > ROUNDS_MAX)
        rounds = 5;
    int fd = memfd_create("first-touch", 0);
    uint8_t *src = malloc(PIECE);
    if (fd < 0 || ftruncate(fd, (off_t)TOTAL) != 0 || src == NULL)
        return 1;
    memset(src, 2, PIECE);
    uint8_t *filled = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (filled == MAP_FAILED)
        return 1;
    memset(filled, 1, TOTAL);
    /* Each view at addresses no view had before: the table of
     * copy_help_map_in.h remembers blocks by address. */
    uint8_t *space = mmap(NULL, TOTAL * 3 * (size_t)rounds, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (space == MAP_FAILED)
        return 1;
    static const char *const names[] = {"fresh", "populated", "loaded"};
    for (int c = 0; c < 3; ++c) {
        double prep[ROUNDS_MAX], first[ROUNDS_MAX], second[ROUNDS_MAX];
        for (int r = 0; r < rounds; ++r) {
            uint8_t *view = mmap(space + TOTAL * (size_t)(c * rounds + r), TOTAL,
                                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
            if (view == MAP_FAILED)
                return 1;
            double t0 = now_us();
            if (c == 1)
                (void)madvise(view, TOTAL, MADV_POPULATE_WRITE);
            else if (c == 2)
                veshm_copy_help_map_in(view, TOTAL, 1);
            prep[r] = (now_us() - t0) / (double)(TOTAL / PIECE);
            first[r] = copy_all(view, src);
            second[r] = copy_all(view, src);
        }
        printf("%s %.2f %.2f %.2f\n", names[c], median(prep, rounds), median(first, rounds),
               median(second, rounds));
    }
    return 0;
}
