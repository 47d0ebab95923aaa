/* What a second core can add to one large copy, the copy every put or get
 * of the same-host paths is (docs/MPI_ROUTING.md): one memcpy by one thread
 * (the reference), the same copy split with a second thread of the process
 * (a helper that shares the address space: an idle core the DMA engine
 * thread could use), and split with a second process that copies its half
 * with process_vm_readv (the only way the other rank of a job, polling in
 * MPI, could help: it cannot see the origin's private buffer otherwise).
 * Both split copies run the protocol the paths use (core/wire/copy_help.h),
 * from 64 KiB up whatever its threshold, to show where the threshold belongs.
 * Then the same for memory neither process can map for the other (a window
 * over host memory, mpi_osc_route/host_win.c): one process_vm_writev of the
 * origin (Open MPI's default path), and the copy split with the second
 * process, each through the kernel.
 *   bench_copy_split [MAX_SIZE [kernel]]   -> one line per size from 64 KiB:
 *   "SIZE ONE_US THREAD_US PROCESS_US", with "kernel" also "KERNEL_ONE_US
 *   KERNEL_SPLIT_US" (medians of 5 rounds). Without it the origin copies
 *   only in user space (tests/bench/profile_test.sh profiles it so). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every size shared, to measure below the paths' threshold too. */
#define VESHM_COPY_HELP_MIN 1u
#define VESHM_COPY_HELP_KERNEL_MIN 1u
#include "../bench_clock.h"
#include "wire/copy_help.h"

static size_t max;
/* Shared memory, as a window's is: both helpers write it. */
static char *dst;
static struct shared {
    struct veshm_copy_help slot;
    int stop;
} * shared;

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* The helper thread serves the slot the way a polling target does, but with
 * memcpy (it sees the poster's buffer); veshm_copy_help_serve, which the
 * helper process runs, refuses a job of its own process. */
static void *helper_thread(void *p) {
    struct veshm_copy_help *h = p;
    pin(1);
    while (!__atomic_load_n(&shared->stop, __ATOMIC_ACQUIRE)) {
        uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
        if (!veshm_copy_help_open(word))
            continue;
        const char *src = (const char *)(uintptr_t)__atomic_load_n(&h->remote, __ATOMIC_RELAXED);
        uint64_t len = __atomic_load_n(&h->len, __ATOMIC_RELAXED),
                 chunk = veshm_copy_help_chunk(len);
        int64_t c;
        uint64_t k;
        /* As a helper through a view claims: the origin's 64 KiB at a time. */
        while ((c = veshm_copy_help_claim_at(h, veshm_copy_help_seq(word), 1,
                                             VESHM_COPY_HELP_SHARE_ALL,
                                             VESHM_COPY_HELP_ORIGIN_CLAIM, 0, &k)) >= 0) {
            size_t off = (size_t)c * chunk;
            memcpy(dst + off, src + off, veshm_copy_help_span(len, chunk, c, k));
            __atomic_fetch_add(&h->done, k, __ATOMIC_RELEASE);
        }
    }
    return NULL;
}

static uint8_t *own_dst(void *arg, uint64_t target, uint64_t len) {
    (void)arg;
    return target == 0 && len <= max ? (uint8_t *)dst : NULL;
}

/* Median over 5 rounds of the time per copy, in microseconds: h NULL, one
 * memcpy (pid 0) or one process_vm_writev into process pid (at dst, where
 * it maps the same memory); else shared through h, the origin copying
 * through its mapping (pid 0) or through the kernel. */
static double measure(struct veshm_copy_help *h, const char *src, size_t n, pid_t pid) {
    double t[5];
    int iters = (int)(2e8 / (double)n) + 10;
    struct veshm_copy_help_job job = {(uint8_t *)dst, 0, (void *)src, n, 0, 0, 0, 0, pid};
    for (int r = 0; r < 5; ++r) {
        double t0 = bench_now_us();
        for (int i = 0; i < iters; ++i) {
            if (h != NULL) {
                veshm_copy_help_origin(h, 1, &job, NULL, NULL, NULL);
            } else if (pid == 0) {
                memcpy(dst, src, n);
            } else {
                struct iovec local = {(void *)src, n}, peer = {dst, n};
                if (process_vm_writev(pid, &local, 1, &peer, 1, 0) != (ssize_t)n)
                    return -1;
            }
        }
        t[r] = (bench_now_us() - t0) / iters;
    }
    return bench_median(t, 5);
}

int main(int argc, char **argv) {
    max = argc > 1 ? strtoull(argv[1], NULL, 0) : 8u << 20;
    const int kernel = argc > 2 && strcmp(argv[2], "kernel") == 0;
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    dst = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *src = aligned_alloc(4096, max);
    if (shared == MAP_FAILED || dst == MAP_FAILED || src == NULL)
        return 1;
    struct veshm_copy_help *h = &shared->slot;
    memset(dst, 2, max);
    for (size_t i = 0; i < max; ++i)
        src[i] = (char)i;
    pin(0);

    double one[64], thread[64], process[64], kernel_one[64], kernel_split[64];
    size_t sizes[64], count = 0;
    for (size_t n = 64 * 1024; n <= max && count < 64; n *= 2)
        sizes[count++] = n;

    for (size_t i = 0; i < count; ++i)
        one[i] = measure(NULL, src, sizes[i], 0);

    pthread_t t;
    if (pthread_create(&t, NULL, helper_thread, h) != 0)
        return 1;
    for (size_t i = 0; i < count; ++i)
        thread[i] = measure(h, src, sizes[i], 0);
    __atomic_store_n(&shared->stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    __atomic_store_n(&shared->stop, 0, __ATOMIC_RELEASE);

    pid_t child = fork();
    if (child == 0) {
        pin(1);
        int refused = 0;
        uint64_t served = 0;
        while (!__atomic_load_n(&shared->stop, __ATOMIC_ACQUIRE) && !refused)
            veshm_copy_help_serve(h, own_dst, NULL, NULL, NULL, &refused, &served);
        _exit(refused);
    }
    for (size_t i = 0; i < count; ++i) {
        process[i] = measure(h, src, sizes[i], 0);
        if (kernel) {
            kernel_one[i] = measure(NULL, src, sizes[i], child);
            kernel_split[i] = measure(h, src, sizes[i], child);
        }
    }
    __atomic_store_n(&shared->stop, 1, __ATOMIC_RELEASE);
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "bench_copy_split: the helper process could not reach this one "
                        "(ptrace scope): its column is one core's\n");
    if (count == 0 || memcmp(dst, src, sizes[count - 1]) != 0) {
        fprintf(stderr, "bench_copy_split: the copies are wrong\n");
        return 1;
    }
    for (size_t i = 0; i < count; ++i) {
        printf("%zu %.3f %.3f %.3f", sizes[i], one[i], thread[i], process[i]);
        if (kernel)
            printf(" %.3f %.3f", kernel_one[i], kernel_split[i]);
        printf("\n");
    }
    return 0;
}
