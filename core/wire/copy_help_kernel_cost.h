/* From what size a helper that reaches the origin's buffer through the
 * kernel makes a copy of core/wire/copy_help.h faster, on this machine.
 * Included by copy_help.h, after VESHM_COPY_HELP_MIN. */
#ifndef VESHM_COPY_HELP_KERNEL_COST_H
#define VESHM_COPY_HELP_KERNEL_COST_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Where the kernel's copy is slow (page pinning on a VM with shadow page
 * tables: a 64 KiB process_vm_readv 4.5 us against 0.66 for memcpy, where
 * another VM took 2.7 against 1.5), a helper that reaches the origin's
 * buffer through the kernel is too slow to share a copy below 1 MiB:
 * contrib/bench/copy there, one memcpy against the copy split with a
 * process, 256 KiB 2.5 -> 5.9 us, 512 KiB 5.9 -> 9.2, 1 MiB 22.4 -> 14.9. The
 * smallest job worth such a helper, from the two costs of 64 KiB. */
#define VESHM_COPY_HELP_SLOW_KERNEL_MIN (1024u * 1024)
static inline size_t veshm_copy_help_min_for(double memcpy_ns, double kernel_ns) {
    return kernel_ns > 3 * memcpy_ns ? VESHM_COPY_HELP_SLOW_KERNEL_MIN : VESHM_COPY_HELP_MIN;
}

static inline double veshm_copy_help_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* veshm_copy_help_kernel_helper_min's, 0 until measured (per translation
 * unit, as the functions of this header are). */
static size_t veshm_copy_help_kernel_measured;

/* veshm_copy_help_min_for on this machine, measured once per process (best
 * of 8 of each, about 50 us where its pages are warm; 0.57 ms on a VM with
 * shadow paging, where they are fresh: its users measure when they start,
 * not in their first large transfer): the kernel copies from this very
 * process. */
static inline size_t veshm_copy_help_kernel_helper_min(void) {
    size_t min = __atomic_load_n(&veshm_copy_help_kernel_measured, __ATOMIC_RELAXED);
    if (min != 0)
        return min;
    const size_t n = 64u * 1024;
    uint8_t *a = (uint8_t *)malloc(2 * n);
    if (a == NULL)
        return VESHM_COPY_HELP_MIN;
    memset(a, 1, 2 * n);
    double mem = 1e18, ker = 1e18;
    for (int i = 0; i < 8; ++i) {
        double t0 = veshm_copy_help_ns();
        memcpy(a + n, a, n);
        __asm__ volatile("" : : "r"(a) : "memory");
        double t1 = veshm_copy_help_ns();
        struct iovec local = {a + n, n}, peer = {a, n};
        ssize_t got = process_vm_readv(getpid(), &local, 1, &peer, 1, 0);
        double t2 = veshm_copy_help_ns();
        if (got != (ssize_t)n)
            break; /* no helper can reach this process anyway */
        mem = t1 - t0 < mem ? t1 - t0 : mem;
        ker = t2 - t1 < ker ? t2 - t1 : ker;
    }
    free(a);
    min = ker < 1e18 ? veshm_copy_help_min_for(mem, ker) : VESHM_COPY_HELP_MIN;
    __atomic_store_n(&veshm_copy_help_kernel_measured, min, __ATOMIC_RELAXED);
    return min;
}

/* Whether a job of n bytes is worth a helper that goes through the kernel;
 * measures only for a job large enough to share anywhere. */
static inline int veshm_copy_help_kernel_helper_wanted(size_t n) {
    return n >= VESHM_COPY_HELP_MIN && n >= veshm_copy_help_kernel_helper_min();
}

#endif
