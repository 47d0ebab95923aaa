/* Large copies shared by the two processes they concern. The origin of a put
 * or get publishes it in a slot in the target's shared memory and copies it
 * 64 KiB at a time; the target, whenever it polls (MPI's progress, a UCX
 * interface's), claims parts of it too, with process_vm_readv/_writev (the
 * origin's buffer is private memory: the kernel is the only way in). Who
 * takes which chunks is decided by a compare-and-swap on one word holding the
 * job's number and the bounds of its chunks left, so a late helper can
 * neither take a chunk of a finished job nor run past its end while the next
 * origin rewrites the fields. A target that computes never claims: the
 * origin then copies everything, for one atomic per claim. contrib/bench/copy
 * measures what the second core gives: through the kernel 1.30-1.33x at
 * 256-512 KiB, 1.8-3.2x from 1 MiB, nothing below 256 KiB. Where the origin
 * cannot map the target's memory either (a window over host memory), it
 * copies its part through the kernel too (view_pid).
 *
 * Users: the same-host paths of MPI windows (mpi_osc_route/direct_help.c,
 * mpi_osc_route/host_win.c) and the veshm transport
 * (ucx_tl_veshm/veshm_help.c). C, header only: both are C libraries that
 * share no code otherwise. */
#ifndef VESHM_COPY_HELP_H
#define VESHM_COPY_HELP_H

/* Needs _GNU_SOURCE (process_vm_readv) before the first system header. */
#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "copy_pieces.h"

/* Chunks are 16 KiB, or larger for jobs above 4 MiB: at most 256 per job, so
 * that four words say which ones a helper could not do. The origin claims
 * four at a time; a helper claims a share of what is left, so that the two
 * end together: with whole 64 KiB pieces a 256 KiB job split 3 + 1 between
 * an origin and a helper of half its speed, where 2.5 + 1.5 ends sooner. */
#define VESHM_COPY_HELP_CHUNK (16u * 1024)
#define VESHM_COPY_HELP_MAX_CHUNKS 256u
#define VESHM_COPY_HELP_ORIGIN_CLAIM 4u
/* The most a helper claims at once (128 KiB): what the origin may wait for
 * when the helper loses its core in the middle of a claim. */
#define VESHM_COPY_HELP_HELPER_CLAIM 8u
/* A helper's share of the chunks left, in sixteenths, by how fast it is against
 * the origin (timed inside an MPI put, get and accumulate of 256-512 KiB,
 * both buffers in cache). Through the kernel (process_vm_readv/_writev pin
 * the pages) it copies 64 KiB in 2.6-2.8 us against the origin's 1.4-1.7: a
 * third of the rest, a little more since the origin is still busy with its
 * own claim when the helper takes its share. Applying an operation through
 * the kernel (read, then apply) it takes 3.8 us against the origin's 1.2: a
 * quarter. Through a view (memory both map) it is as fast as the origin
 * and claims like it, 64 KiB at a time: there a half of what is left, in
 * pieces that differ from job to job, was slower (OpenSHMEM putmem of 1 MiB
 * 13.0 -> 13.9 us), each core's part of the buffers no longer the same. */
#define VESHM_COPY_HELP_SHARE_ALL 16u
#define VESHM_COPY_HELP_SHARE_KERNEL 6u
#define VESHM_COPY_HELP_SHARE_KERNEL_OP 5u
/* Through the kernel the last chunks of a job are the origin's: a claim's
 * system call and page pinning cost what the origin needs to copy two, or
 * to apply an operation to three. */
#define VESHM_COPY_HELP_KERNEL_LEAVES 2u
#define VESHM_COPY_HELP_KERNEL_OP_LEAVES 3u
/* From here two cores copy faster than one (contrib/bench/copy, which sets
 * it to 1 to measure every size). */
#ifndef VESHM_COPY_HELP_MIN
#define VESHM_COPY_HELP_MIN (256u * 1024)
#endif
#ifndef VESHM_COPY_HELP_KERNEL_MIN
#define VESHM_COPY_HELP_KERNEL_MIN (128u * 1024)
#endif

#include "copy_help_kernel_cost.h"

/* The slot, in memory both processes map: three cache lines, so that the
 * target's polls and the origin's work touch different ones. The first holds
 * what changes while a job runs (each claim, each chunk done). The second
 * describes the job, written before it opens and read once by a helper. The
 * third holds the number of the last job published, the one word a target's
 * poll reads (veshm_copy_help_pending): written once per job, it stays in
 * both caches, where polls of the first line would take it from the origin
 * before each claim (a 256 KiB accumulate lost 15% to a helper polling after
 * its own share), and polls of the second before each field it publishes. */
struct veshm_copy_help {
    uint64_t claim; /* job number (24 bits), end and start of the chunks left (20 bits each) */
    uint64_t done;  /* chunks finished, by whoever took them */
    /* bit c % 64 of word c / 64: the helper could not reach the origin for chunk c */
    uint64_t failed[VESHM_COPY_HELP_MAX_CHUNKS / 64];
    char pad0[16];
    uint64_t owner;  /* 0 free, else the origin's id (never 0) */
    int32_t pid;     /* the origin process */
    uint32_t how;    /* VESHM_COPY_HELP_GET, VESHM_COPY_HELP_KERNEL_ORIGIN */
    uint64_t remote; /* the origin's buffer, in its address space */
    uint64_t target; /* where in the target's memory, as its user names it */
    uint64_t len;
    uint64_t op; /* 0: a copy; else an operation the users agree on (apply) */
    /* The origin's buffer as VE memory (0: it is not): its owner and HMEM
     * address, for a target that can see it (veshm_copy_help_serve's view). */
    int64_t buf_owner;
    uint64_t buf_hmem;
    uint64_t posted; /* the last job's number, stored once it is open */
    char pad2[56];
};
static_assert(offsetof(struct veshm_copy_help, owner) == 64 &&
                  offsetof(struct veshm_copy_help, posted) == 128 &&
                  sizeof(struct veshm_copy_help) == 192,
              "the slot's lines: what a job changes, its description, its number");

/* A job's how: a get (else a put), and an origin that reaches the target's
 * memory through the kernel too (the target's own host memory, of a window
 * over memory the program allocated): both cores then pay the same per
 * chunk, so the helper takes what it finds left, all of it if it can. */
#define VESHM_COPY_HELP_GET 1u
#define VESHM_COPY_HELP_KERNEL_ORIGIN 2u

/* What an origin asks: a put (copy buf to the target's memory, or apply op
 * with buf as the origin operand) or a get (copy the target's memory to buf;
 * op 0 only). */
struct veshm_copy_help_job {
    uint8_t *view;   /* the target's memory as the origin sees it */
    uint64_t target; /* the same memory as the target names it */
    void *buf;
    size_t len;
    int is_get;
    uint64_t op;
    /* buf as VE memory its peers may see: the VE process owning it and its
     * HMEM address; 0 if it is not (then helpers reach buf through the
     * kernel). */
    int64_t buf_owner;
    uint64_t buf_hmem;
    /* Not 0: view is the target's memory in the address space of this
     * process (the target), which the origin reaches with
     * process_vm_writev/_readv (an op: read, apply here, write back). */
    pid_t view_pid;
};

/* dst = src op dst over n bytes of whole elements, for a job whose op is not
 * 0; 0, or -1 for an op it does not know (then nothing is done). */
typedef int (*veshm_copy_help_apply_fn)(uint64_t op, uint8_t *dst, const uint8_t *src, size_t n);

#define VESHM_COPY_HELP_SEQ_SHIFT 40
#define VESHM_COPY_HELP_COUNT_SHIFT 20
#define VESHM_COPY_HELP_FIELD_MASK ((1ull << 20) - 1)

static inline uint64_t veshm_copy_help_seq(uint64_t word) {
    return word >> VESHM_COPY_HELP_SEQ_SHIFT;
}

/* Whether word names a job with chunks left to claim. */
static inline int veshm_copy_help_open(uint64_t word) {
    return veshm_copy_help_seq(word) != 0 &&
           (word & VESHM_COPY_HELP_FIELD_MASK) <
               ((word >> VESHM_COPY_HELP_COUNT_SHIFT) & VESHM_COPY_HELP_FIELD_MASK);
}

/* Chunks of the job word names not claimed yet. */
static inline uint64_t veshm_copy_help_left(uint64_t word) {
    return ((word >> VESHM_COPY_HELP_COUNT_SHIFT) & VESHM_COPY_HELP_FIELD_MASK) -
           (word & VESHM_COPY_HELP_FIELD_MASK);
}

/* Claims chunks of job seq: the origin the first ones left, a helper the
 * last ones, so that from one job to the next each core mostly copies the
 * same part (its lines still in its cache when a buffer is used again) and
 * the two meet wherever the helper's claims put them. It takes share sixteenths
 * of the chunks left (rounded up), at most most, and leaves at least
 * leave; *count says how many. Returns the first chunk taken, or -1 when
 * that is none or the job is over (the compare-and-swap fails on the
 * number). */
static inline int64_t veshm_copy_help_claim_at(struct veshm_copy_help *h, uint64_t seq, int last,
                                               unsigned share, uint64_t most, uint64_t leave,
                                               uint64_t *count) {
    uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
    for (;;) {
        if (veshm_copy_help_seq(word) != seq || !veshm_copy_help_open(word))
            return -1;
        uint64_t left = veshm_copy_help_left(word);
        if (left <= leave)
            return -1;
        uint64_t k = (left * share + VESHM_COPY_HELP_SHARE_ALL - 1) / VESHM_COPY_HELP_SHARE_ALL;
        k = k < most ? k : most;
        k = k < left - leave ? k : left - leave;
        if (k == 0)
            return -1;
        uint64_t next = last ? word - (k << VESHM_COPY_HELP_COUNT_SHIFT) : word + k;
        if (__atomic_compare_exchange_n(&h->claim, &word, next, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            *count = k;
            return (int64_t)((last ? next >> VESHM_COPY_HELP_COUNT_SHIFT : word) &
                             VESHM_COPY_HELP_FIELD_MASK);
        }
    }
}

/* One chunk, the first left. */
static inline int64_t veshm_copy_help_claim(struct veshm_copy_help *h, uint64_t seq) {
    uint64_t k;
    return veshm_copy_help_claim_at(h, seq, 0, VESHM_COPY_HELP_SHARE_ALL, 1, 0, &k);
}

/* One chunk, the last left. */
static inline int64_t veshm_copy_help_claim_last(struct veshm_copy_help *h, uint64_t seq) {
    uint64_t k;
    return veshm_copy_help_claim_at(h, seq, 1, VESHM_COPY_HELP_SHARE_ALL, 1, 0, &k);
}

/* Marks chunk c as one the helper did nothing of. */
static inline void veshm_copy_help_fail(struct veshm_copy_help *h, uint64_t c) {
    if (c < VESHM_COPY_HELP_MAX_CHUNKS)
        __atomic_fetch_or(&h->failed[c / 64], 1ull << (c % 64), __ATOMIC_RELEASE);
}

static inline int veshm_copy_help_failed(struct veshm_copy_help *h, uint64_t c) {
    return c < VESHM_COPY_HELP_MAX_CHUNKS &&
           (__atomic_load_n(&h->failed[c / 64], __ATOMIC_ACQUIRE) >> (c % 64) & 1);
}

/* The chunk size of a job of len bytes: both sides derive it from len. */
static inline uint64_t veshm_copy_help_chunk(uint64_t len) {
    uint64_t per = (len + VESHM_COPY_HELP_MAX_CHUNKS - 1) / VESHM_COPY_HELP_MAX_CHUNKS;
    per = (per + VESHM_COPY_HELP_CHUNK - 1) / VESHM_COPY_HELP_CHUNK * VESHM_COPY_HELP_CHUNK;
    return per > VESHM_COPY_HELP_CHUNK ? per : VESHM_COPY_HELP_CHUNK;
}

/* Bytes of chunks [c, c + k) of a job of len bytes. */
static inline uint64_t veshm_copy_help_span(uint64_t len, uint64_t chunk, int64_t c, uint64_t k) {
    uint64_t off = (uint64_t)c * chunk;
    return len - off < k * chunk ? len - off : k * chunk;
}

static inline uint64_t veshm_copy_help_chunk_len(uint64_t len, uint64_t chunk, int64_t c) {
    return veshm_copy_help_span(len, chunk, c, 1);
}

/* An op on the target's memory in another process: read a piece of it,
 * apply the origin's operand, write it back. Pieces of 128 KiB, the most a
 * helper claims: a scratch buffer that stays in this core's cache. 0, or -1
 * when the kernel refused (the piece it refused and those after it are not
 * applied; a piece read but not written back whole may be half applied). */
static inline int veshm_copy_help_apply_through(const struct veshm_copy_help_job *job, size_t off,
                                                size_t n, veshm_copy_help_apply_fn apply) {
    static __thread uint8_t *scratch;
    const size_t piece = VESHM_COPY_HELP_HELPER_CLAIM * VESHM_COPY_HELP_CHUNK;
    if (scratch == NULL && (scratch = (uint8_t *)malloc(piece)) == NULL)
        return -1;
    for (size_t at = off, end = off + n; at < end; at += piece) {
        size_t len = end - at < piece ? end - at : piece;
        struct iovec local = {scratch, len}, peer = {job->view + at, len};
        if (process_vm_readv(job->view_pid, &local, 1, &peer, 1, 0) != (ssize_t)len ||
            apply(job->op, scratch, (const uint8_t *)job->buf + at, len) != 0 ||
            process_vm_writev(job->view_pid, &local, 1, &peer, 1, 0) != (ssize_t)len)
            return -1;
    }
    return 0;
}

/* The origin's part of chunk bytes [off, off + n): through its view, or
 * through the kernel for a view of another process. 0, or -1 when the
 * kernel refused (nothing may be assumed of those bytes). */
static inline int veshm_copy_help_do(const struct veshm_copy_help_job *job, size_t off, size_t n,
                                     veshm_copy_help_apply_fn apply) {
    uint8_t *buf = (uint8_t *)job->buf;
    if (job->view_pid != 0 && job->op != 0)
        return veshm_copy_help_apply_through(job, off, n, apply);
    if (job->view_pid != 0) {
        struct iovec local = {buf + off, n}, peer = {job->view + off, n};
        ssize_t got = job->is_get ? process_vm_readv(job->view_pid, &local, 1, &peer, 1, 0)
                                  : process_vm_writev(job->view_pid, &local, 1, &peer, 1, 0);
        return got == (ssize_t)n ? 0 : -1;
    }
    if (job->op != 0)
        apply(job->op, job->view + off, buf + off, n);
    else if (job->is_get)
        veshm_copy_pieces(buf + off, job->view + off, n);
    else
        veshm_copy_pieces(job->view + off, buf + off, n);
    return 0;
}

#include "copy_help_map_in.h"

/* getpid() is a system call (72 ns on the machine of the figures) that an
 * origin would make before publishing each job and a helper before its first
 * claim: both on the job's critical path. The pid is kept, and forgotten in
 * the child of a fork (which would otherwise publish its parent's, and have
 * its chunks copied from the parent's memory). */
static pid_t veshm_copy_help_kept_pid;
static pthread_once_t veshm_copy_help_pid_once = PTHREAD_ONCE_INIT;

static void veshm_copy_help_forget_pid(void) {
    __atomic_store_n(&veshm_copy_help_kept_pid, 0, __ATOMIC_RELAXED);
}

static void veshm_copy_help_watch_forks(void) {
    (void)pthread_atfork(NULL, NULL, veshm_copy_help_forget_pid);
}

static inline pid_t veshm_copy_help_self(void) {
    pid_t pid = __atomic_load_n(&veshm_copy_help_kept_pid, __ATOMIC_RELAXED);
    if (pid == 0) {
        /* Watching first: a pid kept before the watch could outlive a fork. */
        (void)pthread_once(&veshm_copy_help_pid_once, veshm_copy_help_watch_forks);
        pid = getpid();
        __atomic_store_n(&veshm_copy_help_kept_pid, pid, __ATOMIC_RELAXED);
    }
    return pid;
}

/* Fills the slot the caller owns with job (pid: the process whose buf it
 * is), opening it to claims; returns the job's number. */
static inline uint64_t veshm_copy_help_publish(struct veshm_copy_help *h, pid_t pid,
                                               const struct veshm_copy_help_job *job,
                                               uint64_t nchunks) {
    uint64_t seq =
        (veshm_copy_help_seq(__atomic_load_n(&h->claim, __ATOMIC_RELAXED)) + 1) & 0xffffff;
    if (seq == 0)
        seq = 1;
    /* Atomic, relaxed: a late helper may read them while they change (its
     * claim then fails). */
    __atomic_store_n(&h->pid, (int32_t)pid, __ATOMIC_RELAXED);
    __atomic_store_n(&h->remote, (uint64_t)(uintptr_t)job->buf, __ATOMIC_RELAXED);
    __atomic_store_n(&h->target, job->target, __ATOMIC_RELAXED);
    __atomic_store_n(&h->len, (uint64_t)job->len, __ATOMIC_RELAXED);
    __atomic_store_n(&h->how,
                     (job->is_get ? VESHM_COPY_HELP_GET : 0u) |
                         (job->view_pid != 0 ? VESHM_COPY_HELP_KERNEL_ORIGIN : 0u),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&h->op, job->op, __ATOMIC_RELAXED);
    __atomic_store_n(&h->buf_owner, job->buf_owner, __ATOMIC_RELAXED);
    __atomic_store_n(&h->buf_hmem, job->buf_hmem, __ATOMIC_RELAXED);
    __atomic_store_n(&h->done, 0, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < VESHM_COPY_HELP_MAX_CHUNKS / 64; ++i)
        __atomic_store_n(&h->failed[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->claim,
                     seq << VESHM_COPY_HELP_SEQ_SHIFT | nchunks << VESHM_COPY_HELP_COUNT_SHIFT,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&h->posted, seq, __ATOMIC_RELEASE);
    return seq;
}

/* Origin: does job with the help of whoever serves h. owner: this origin's
 * id in the slot (not 0). apply: for a job with an op (may be NULL
 * otherwise; it must know job->op). alive (may be NULL) is asked now and
 * then while a helper's chunk is outstanding: 0 means the target is gone.
 * Returns the chunks the target did (0: all done here, also when the slot
 * was taken or the job too small), -1 if alive said the target is gone
 * before its chunks were done, or -2 if the kernel refused a copy of the
 * origin's own (a job with a view_pid: then nothing may be assumed of the
 * target's bytes, but the slot is free again).
 *
 * Through a view the origin claims four chunks at a time. Through the
 * kernel each claim is a system call that pins its pages, so it claims half
 * of the job, then, if no helper has come by then, all that is left: alone
 * it makes two calls where the default path makes one. */
static inline int64_t veshm_copy_help_origin(struct veshm_copy_help *h, uint64_t owner,
                                             const struct veshm_copy_help_job *job,
                                             veshm_copy_help_apply_fn apply, int (*alive)(void *),
                                             void *arg) {
    uint64_t none = 0, chunk = veshm_copy_help_chunk(job->len),
             nchunks = (job->len + chunk - 1) / chunk;
    const int kernel = job->view_pid != 0;
    if (job->len < (kernel ? VESHM_COPY_HELP_KERNEL_MIN : VESHM_COPY_HELP_MIN) ||
        !__atomic_compare_exchange_n(&h->owner, &none, owner, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return veshm_copy_help_do(job, 0, job->len, apply) == 0 ? 0 : -2;
    uint64_t seq = veshm_copy_help_publish(h, veshm_copy_help_self(), job, nchunks);
    int64_t c;
    int refused = 0;
    unsigned share = kernel ? VESHM_COPY_HELP_SHARE_ALL / 2 : VESHM_COPY_HELP_SHARE_ALL;
    uint64_t k, most = kernel ? nchunks : VESHM_COPY_HELP_ORIGIN_CLAIM,
                mine[VESHM_COPY_HELP_MAX_CHUNKS / 64] = {0}; /* chunks done here */
    while ((c = veshm_copy_help_claim_at(h, seq, 0, share, most, 0, &k)) >= 0) {
        refused |= veshm_copy_help_do(job, (size_t)c * chunk,
                                      veshm_copy_help_span(job->len, chunk, c, k), apply);
        for (uint64_t i = (uint64_t)c; i < (uint64_t)c + k; ++i)
            mine[i / 64] |= 1ull << (i % 64);
        __atomic_fetch_add(&h->done, k, __ATOMIC_RELEASE);
        /* A helper's claims lower the end of the chunks left. */
        if (kernel && (__atomic_load_n(&h->claim, __ATOMIC_ACQUIRE) >> VESHM_COPY_HELP_COUNT_SHIFT &
                       VESHM_COPY_HELP_FIELD_MASK) == nchunks)
            share = VESHM_COPY_HELP_SHARE_ALL;
    }
    /* The helper's chunks: it is working on them now (it claims only while
     * it runs, one claim at a time). */
    for (unsigned spins = 0; __atomic_load_n(&h->done, __ATOMIC_ACQUIRE) < nchunks;) {
        if (alive != NULL && ++spins % (1u << 16) == 0 && !alive(arg))
            return -1;
    }
    /* Chunks a helper could not reach this process for: it did nothing of
     * them (an accumulate must not be applied twice). One load a word of
     * bits, for what is rare. */
    int64_t helped = (int64_t)nchunks;
    for (unsigned w = 0; w < VESHM_COPY_HELP_MAX_CHUNKS / 64; ++w) {
        uint64_t failed = __atomic_load_n(&h->failed[w], __ATOMIC_ACQUIRE);
        for (; failed != 0; failed &= failed - 1) {
            c = (int64_t)(w * 64 + (unsigned)__builtin_ctzll(failed));
            if ((uint64_t)c >= nchunks)
                break;
            refused |= veshm_copy_help_do(job, (size_t)c * chunk,
                                          veshm_copy_help_chunk_len(job->len, chunk, c), apply);
            mine[w] |= 1ull << (c % 64);
        }
        helped -= __builtin_popcountll(mine[w]);
    }
    __atomic_store_n(&h->owner, 0, __ATOMIC_RELEASE);
    if (refused)
        return -2;
    /* The helper's chunks, a run at a time (one run, but for chunks redone);
     * not for a view in another process (nothing of it is mapped here). */
    for (c = 0; !kernel && (uint64_t)c < nchunks;) {
        int64_t from = c;
        while ((uint64_t)c < nchunks && !(mine[c / 64] >> (c % 64) & 1))
            ++c;
        if (c > from)
            veshm_copy_help_map_in(
                job->view + (size_t)from * chunk,
                veshm_copy_help_span(job->len, chunk, from, (uint64_t)(c - from)));
        while ((uint64_t)c < nchunks && mine[c / 64] >> (c % 64) & 1)
            ++c;
    }
    return helped;
}

/* How a helper sees the origin's buffer when it is VE memory: its own view
 * of len bytes at hmem of the VE process owner, or NULL (then the kernel
 * copies, process_vm_readv/_writev). */
typedef uint8_t *(*veshm_copy_help_view_fn)(void *arg, int64_t owner, uint64_t hmem, uint64_t len);

/* Whether h names a job the target has not served yet (*served: the number
 * of the one it served last): the one load a poll pays when it has not. */
static inline int veshm_copy_help_pending(const struct veshm_copy_help *h, const uint64_t *served) {
    uint64_t posted = __atomic_load_n(&h->posted, __ATOMIC_ACQUIRE);
    return posted != 0 && posted != __atomic_load_n(served, __ATOMIC_RELAXED);
}

/* Target: does the chunks of h's open job it can claim. resolve turns the
 * job's target and length into this process's memory, or NULL to refuse;
 * view (may be NULL) finds the origin's buffer when the slot names it as VE
 * memory, so that a chunk is one memcpy, without the kernel's page pinning;
 * apply (NULL: jobs with an op are refused) does a job's op. Whatever the
 * slot says is checked (any process that can write the slot can write it).
 * *refused is set when the kernel refused to reach the origin (ptrace
 * scope): the origin does those chunks itself, and the caller should not
 * help any more. Each claim takes the share of the chunks left its path
 * earns (VESHM_COPY_HELP_SHARE_*); through the kernel, the last
 * VESHM_COPY_HELP_KERNEL_LEAVES chunks of a copy are the origin's. *served
 * (the caller's, one per slot) names the job served last: one call takes of
 * a job all that this process will, since what a claim may take only shrinks
 * as the job goes on. Returns the chunks done here. */
static inline int
veshm_copy_help_serve(struct veshm_copy_help *h,
                      uint8_t *(*resolve)(void *arg, uint64_t target, uint64_t len),
                      veshm_copy_help_view_fn view, veshm_copy_help_apply_fn apply, void *arg,
                      int *refused, uint64_t *served) {
    if (!veshm_copy_help_pending(h, served))
        return 0;
    uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
    uint64_t seq = veshm_copy_help_seq(word);
    __atomic_store_n(served, seq, __ATOMIC_RELAXED);
    if (!veshm_copy_help_open(word))
        return 0;
    /* Read before claiming: a claim that succeeds proves the job they
     * describe was still open. */
    pid_t pid = (pid_t)__atomic_load_n(&h->pid, __ATOMIC_RELAXED);
    uint64_t remote = __atomic_load_n(&h->remote, __ATOMIC_RELAXED);
    uint64_t target = __atomic_load_n(&h->target, __ATOMIC_RELAXED);
    uint64_t len = __atomic_load_n(&h->len, __ATOMIC_RELAXED);
    uint32_t how = __atomic_load_n(&h->how, __ATOMIC_RELAXED);
    int is_get = (how & VESHM_COPY_HELP_GET) != 0,
        kernel_origin = (how & VESHM_COPY_HELP_KERNEL_ORIGIN) != 0;
    uint64_t op = __atomic_load_n(&h->op, __ATOMIC_RELAXED);
    int64_t buf_owner = __atomic_load_n(&h->buf_owner, __ATOMIC_RELAXED);
    uint64_t buf_hmem = __atomic_load_n(&h->buf_hmem, __ATOMIC_RELAXED);
    uint64_t chunk = veshm_copy_help_chunk(len), nchunks = (len + chunk - 1) / chunk;
    /* A job of this very process would copy between its own buffers at an
     * address the slot chose. */
    if (pid == veshm_copy_help_self() || pid <= 0 || (op != 0 && (is_get || apply == NULL)))
        return 0;
    /* An op this process does not know: refused before any chunk is taken. */
    if (op != 0 && apply(op, NULL, NULL, 0) != 0)
        return 0;
    uint8_t *mine = resolve(arg, target, len);
    if (mine == NULL)
        return 0;
    /* Only memory the view finds is copied that way: a slot naming memory
     * of another process than the origin's, or memory this process was not
     * given a key of, finds none. */
    uint8_t *theirs = view != NULL && buf_hmem != 0 ? view(arg, buf_owner, buf_hmem, len) : NULL;
    /* The origin's operand of an op, read here first. */
    static __thread uint8_t *operand;
    static __thread uint64_t operand_len;
    const uint64_t most =
        theirs != NULL ? VESHM_COPY_HELP_ORIGIN_CLAIM : VESHM_COPY_HELP_HELPER_CLAIM;
    if (theirs == NULL && op != 0 && operand_len < most * chunk) {
        uint8_t *p = (uint8_t *)realloc(operand, most * chunk);
        if (p == NULL)
            return 0;
        operand = p;
        operand_len = most * chunk;
    }
    unsigned share = theirs != NULL || kernel_origin ? VESHM_COPY_HELP_SHARE_ALL
                     : op != 0                       ? VESHM_COPY_HELP_SHARE_KERNEL_OP
                                                     : VESHM_COPY_HELP_SHARE_KERNEL;
    uint64_t leave = theirs != NULL || kernel_origin ? 0
                     : op != 0                       ? VESHM_COPY_HELP_KERNEL_OP_LEAVES
                                                     : VESHM_COPY_HELP_KERNEL_LEAVES;
    int events = 0;
    int64_t c;
    uint64_t k;
    while ((c = veshm_copy_help_claim_at(h, seq, 1, share, most, leave, &k)) >= 0) {
        if ((uint64_t)c + k > nchunks) {
            /* A word naming more chunks than len has (an origin's word and
             * fields always agree): past the memory resolve checked. Nothing
             * is copied; the chunks go back as ones not done. */
            for (uint64_t i = 0; i < k; ++i)
                veshm_copy_help_fail(h, (uint64_t)c + i);
            __atomic_fetch_add(&h->done, k, __ATOMIC_RELEASE);
            break;
        }
        size_t off = (size_t)c * chunk, n = veshm_copy_help_span(len, chunk, c, k);
        if (theirs != NULL) {
            if (op != 0)
                apply(op, mine + off, theirs + off, n);
            else if (is_get)
                veshm_copy_pieces(theirs + off, mine + off, n);
            else
                veshm_copy_pieces(mine + off, theirs + off, n);
        } else {
            struct iovec local = {op != 0 ? operand : mine + off, n},
                         peer = {(void *)(uintptr_t)(remote + off), n};
            ssize_t got = is_get ? process_vm_writev(pid, &local, 1, &peer, 1, 0)
                                 : process_vm_readv(pid, &local, 1, &peer, 1, 0);
            if (got != (ssize_t)n) {
                for (uint64_t i = 0; i < k; ++i)
                    veshm_copy_help_fail(h, (uint64_t)c + i);
                *refused = 1;
            } else if (op != 0) {
                apply(op, mine + off, operand, n);
            }
        }
        __atomic_fetch_add(&h->done, k, __ATOMIC_RELEASE);
        events += (int)k;
        if (*refused)
            break;
    }
    /* The origin's chunks, in this process's view of its buffer: mapped in
     * here too, so that the next job on these bytes finds every page of
     * them ready whichever of the two copies it (copy_help_map_in.h). */
    if (events > 0 && theirs != NULL)
        veshm_copy_help_map_in(theirs, len);
    return events;
}

#endif
