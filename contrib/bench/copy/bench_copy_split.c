/* What a second core can add to one large copy, the copy every put or get
 * of the same-host paths is (docs/MPI_ROUTING.md): one memcpy by one thread
 * (the reference), the same copy split with a second thread of the process
 * (a helper that shares the address space: an idle core the DMA engine
 * thread could use), and split with a second process that copies its half
 * with process_vm_readv (the only way the other rank of a job, polling in
 * MPI, could help: it cannot see the origin's private buffer otherwise).
 *   bench_copy_split [MAX_SIZE]   -> one line per size from 64 KiB:
 *   "SIZE ONE_US THREAD_US PROCESS_US" (medians of 5 rounds). */
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
#include <time.h>
#include <unistd.h>

/* A copy shared by two workers: chunks are claimed one by one, so a helper
 * that is late (or never comes) leaves its part to the poster. */
struct job {
    uint64_t seq;               /* a new job is published by incrementing it */
    uint64_t src, len, nchunks; /* the poster's source address, for the helper */
    uint64_t next, done;        /* chunks claimed, chunks copied */
    uint64_t stop;
};

#define CHUNK (64 * 1024)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
    sched_setaffinity(0, sizeof(set), &set);
}

typedef void (*copy_fn)(char *dst, const char *src, size_t n, void *arg);

static void copy_local(char *dst, const char *src, size_t n, void *arg) {
    (void)arg;
    memcpy(dst, src, n);
}

static void copy_remote(char *dst, const char *src, size_t n, void *arg) {
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    if (process_vm_readv(*(pid_t *)arg, &local, 1, &remote, 1, 0) != (ssize_t)n) {
        perror("process_vm_readv");
        exit(1);
    }
}

/* Claims and copies chunks of the job until none is left. */
static void work(struct job *j, char *dst, copy_fn copy, void *arg) {
    for (;;) {
        uint64_t c = __atomic_fetch_add(&j->next, 1, __ATOMIC_ACQ_REL);
        if (c >= j->nchunks)
            return;
        uint64_t off = c * CHUNK, n = j->len - off < CHUNK ? j->len - off : CHUNK;
        copy(dst + off, (const char *)(uintptr_t)j->src + off, n, arg);
        __atomic_fetch_add(&j->done, 1, __ATOMIC_RELEASE);
    }
}

static void helper_loop(struct job *j, char *dst, copy_fn copy, void *arg) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t q = __atomic_load_n(&j->seq, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&j->stop, __ATOMIC_ACQUIRE))
            return;
        if (q != seen) {
            seen = q;
            work(j, dst, copy, arg);
        }
    }
}

static void *helper_thread(void *p) {
    void **a = p;
    pin(1);
    helper_loop(a[0], a[1], copy_local, NULL);
    return NULL;
}

/* One split copy: publish, work, wait for the helper's chunks. */
static void split_copy(struct job *j, char *dst, const char *src, size_t n) {
    j->src = (uintptr_t)src;
    j->len = n;
    j->nchunks = (n + CHUNK - 1) / CHUNK;
    __atomic_store_n(&j->next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&j->done, 0, __ATOMIC_RELAXED);
    __atomic_fetch_add(&j->seq, 1, __ATOMIC_RELEASE);
    work(j, dst, copy_local, NULL);
    while (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE) < j->nchunks)
        ;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over 5 rounds of the time per copy, in microseconds. */
static double measure(int mode, struct job *j, char *dst, const char *src, size_t n) {
    double t[5];
    int iters = (int)(2e8 / (double)n) + 10;
    for (int r = 0; r < 5; ++r) {
        double t0 = now();
        for (int i = 0; i < iters; ++i) {
            if (mode == 0)
                memcpy(dst, src, n);
            else
                split_copy(j, dst, src, n);
        }
        t[r] = (now() - t0) / iters * 1e6;
    }
    qsort(t, 5, sizeof(t[0]), compare);
    return t[2];
}

int main(int argc, char **argv) {
    size_t max = argc > 1 ? strtoull(argv[1], NULL, 0) : 8u << 20;
    /* The destination is shared memory, as a window's is: both helpers
     * write into it. */
    struct job *j =
        mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *dst = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *src = aligned_alloc(4096, max);
    if (j == MAP_FAILED || dst == MAP_FAILED || src == NULL)
        return 1;
    memset(j, 0, sizeof(*j));
    memset(dst, 2, max);
    for (size_t i = 0; i < max; ++i)
        src[i] = (char)i;
    pin(0);

    double one[64], thread[64], process[64];
    size_t sizes[64], count = 0;
    for (size_t n = 64 * 1024; n <= max && count < 64; n *= 2)
        sizes[count++] = n;

    for (size_t i = 0; i < count; ++i)
        one[i] = measure(0, j, dst, src, sizes[i]);

    pthread_t t;
    void *targs[2] = {j, dst};
    if (pthread_create(&t, NULL, helper_thread, targs) != 0)
        return 1;
    for (size_t i = 0; i < count; ++i)
        thread[i] = measure(1, j, dst, src, sizes[i]);
    __atomic_store_n(&j->stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    __atomic_store_n(&j->stop, 0, __ATOMIC_RELEASE);

    pid_t poster = getpid(), child = fork();
    if (child == 0) {
        pin(1);
        helper_loop(j, dst, copy_remote, &poster);
        _exit(0);
    }
    for (size_t i = 0; i < count; ++i)
        process[i] = measure(1, j, dst, src, sizes[i]);
    __atomic_store_n(&j->stop, 1, __ATOMIC_RELEASE);
    waitpid(child, NULL, 0);
    if (count == 0 || memcmp(dst, src, sizes[count - 1]) != 0) {
        fprintf(stderr, "bench_copy_split: the copies are wrong\n");
        return 1;
    }
    for (size_t i = 0; i < count; ++i)
        printf("%zu %.3f %.3f %.3f\n", sizes[i], one[i], thread[i], process[i]);
    return 0;
}
