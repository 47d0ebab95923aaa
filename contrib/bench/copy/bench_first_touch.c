/* What the first access of a page through a mapping costs, beyond the copy:
 * a second mapping of shared memory another mapping has filled (a peer's
 * view of VE memory), written with 64 KiB memcpy calls over 64 MiB, first
 * and second time, when the mapping is
 *   fresh      nothing done before (a page fault each page),
 *   populated  madvise(MADV_POPULATE_WRITE) first (no fault),
 *   loaded     one load a page first (copy_help_map_in.h),
 * and how long one load a page then takes through the filled mapping and
 * through as much private memory, both warm before. Under shadow paging (a
 * PVM guest) the first access of a populated page still costs microseconds;
 * under nested paging it does not.
 *   bench_first_touch [ROUNDS]  -> one line per case: "CASE PREPARE_US
 *   FIRST_US SECOND_US OTHER_US", microseconds per 64 KiB (medians of
 *   ROUNDS, 5). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../bench_clock.h"
#include "wire/copy_help_map_in.h"

#define TOTAL ((size_t)64 << 20)
#define PIECE ((size_t)64 << 10)
#define ROUNDS_MAX 31

static double copy_all(uint8_t *to, const uint8_t *from) {
    double t0 = bench_now_us();
    for (size_t o = 0; o < TOTAL; o += PIECE)
        memcpy(to + o, from, PIECE);
    return (bench_now_us() - t0) / (double)(TOTAL / PIECE);
}

/* One load a page of p, TOTAL bytes, per 64 KiB. */
static double load_all(const uint8_t *p) {
    double t0 = bench_now_us();
    for (size_t o = 0; o < TOTAL; o += 4096)
        (void)__atomic_load_n((const volatile uint8_t *)(p + o), __ATOMIC_RELAXED);
    return (bench_now_us() - t0) / (double)(TOTAL / PIECE);
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
    uint8_t *own = malloc(TOTAL);
    if (own == NULL)
        return 1;
    memset(own, 1, TOTAL);
    static const char *const names[] = {"fresh", "populated", "loaded"};
    for (int c = 0; c < 3; ++c) {
        double prep[ROUNDS_MAX], first[ROUNDS_MAX], second[ROUNDS_MAX], other[ROUNDS_MAX];
        for (int r = 0; r < rounds; ++r) {
            (void)load_all(filled); /* warm, whatever the last case did */
            (void)load_all(own);
            /* Never unmapped: each view at addresses no view had before (the
             * table of copy_help_map_in.h remembers blocks by address). */
            uint8_t *view = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (view == MAP_FAILED)
                return 1;
            double t0 = bench_now_us();
            if (c == 1)
                (void)madvise(view, TOTAL, MADV_POPULATE_WRITE);
            else if (c == 2)
                veshm_copy_help_map_in(view, TOTAL);
            prep[r] = (bench_now_us() - t0) / (double)(TOTAL / PIECE);
            other[r] = (load_all(filled) + load_all(own)) / 2;
            first[r] = copy_all(view, src);
            second[r] = copy_all(view, src);
        }
        printf("%s %.2f %.2f %.2f %.2f\n", names[c], bench_median(prep, rounds),
               bench_median(first, rounds), bench_median(second, rounds),
               bench_median(other, rounds));
    }
    return 0;
}
