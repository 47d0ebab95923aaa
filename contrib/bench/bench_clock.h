/* The clock and the median every C benchmark of contrib/bench reports with,
 * so that their figures mean the same thing. */
#ifndef VESHM_BENCH_CLOCK_H
#define VESHM_BENCH_CLOCK_H

#include <stdlib.h>
#include <time.h>

/* Monotonic, so that an NTP step during a run cannot make a copy negative. */
static inline double bench_now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place; an even count gives the mean of the two middle values. */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
