/* Large copies shared by the two processes they concern. The origin of a put
 * or get publishes it in a slot in the target's shared memory and copies it
 * in 64 KiB chunks; the target, whenever it polls (MPI's progress, a UCX
 * interface's), claims chunks of it too, with process_vm_readv/_writev (the
 * origin's buffer is private memory: the kernel is the only way in). Who
 * takes a chunk is decided by a compare-and-swap on one word holding the
 * job's number and the bounds of its chunks left, so a late helper can
 * neither take a chunk of a finished job nor run past its end while the next
 * origin rewrites the fields. A target that computes never claims: the
 * origin then copies everything, for one atomic per chunk. contrib/bench/copy
 * measures what the second core gives: ~1.1x at 256-512 KiB, 1.5-2.4x from
 * 1 MiB, nothing below 256 KiB.
 *
 * Users: the same-host path of MPI windows (mpi_osc_route/direct_help.c) and
 * the veshm transport (ucx_tl_veshm/veshm_help.c). C, header only: both are
 * C libraries that share no code otherwise. */
#ifndef VESHM_COPY_HELP_H
#define VESHM_COPY_HELP_H

/* Needs _GNU_SOURCE (process_vm_readv) before the first system header. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Chunks are 64 KiB, or larger for jobs above 4 MiB: at most 64 per job, so
 * that one word says which ones a helper could not do. */
#define VESHM_COPY_HELP_CHUNK (64u * 1024)
#define VESHM_COPY_HELP_MAX_CHUNKS 64u
/* A helper that reaches the origin's buffer through the kernel copies a chunk
 * in about the time the origin copies two when both buffers are in cache
 * (process_vm_readv/_writev pin the pages: 64 KiB in 3.0 us against 1.5 us
 * by memcpy, measured in an MPI put of 512 KiB while both copy): one it
 * claims with fewer than three left ends after the origin has done the rest,
 * and the origin waits for it. It leaves the last two of a copy to the
 * origin; of an operation (an accumulate) it takes any: there the origin's
 * own part is as slow (OSU's acc_latency with fence, 256-512 KiB: 1.12x the
 * default path when it left two, 0.93-1.03 when it took any). */
#define VESHM_COPY_HELP_KERNEL_LEAVES 2u
/* From here two cores copy faster than one (contrib/bench/copy, which sets
 * it to 1 to measure every size). */
#ifndef VESHM_COPY_HELP_MIN
#define VESHM_COPY_HELP_MIN (256u * 1024)
#endif

/* The slot, in memory both processes map: two cache lines. The first
 * holds what changes while a job runs; every poll of the target reads it. The
 * job's description is written before the job opens and read once by the
 * helper, so on a line of its own it costs the origin one cache miss to
 * publish, not one for each field it stores between two of those polls. */
struct veshm_copy_help {
    uint64_t claim;  /* job number (24 bits), end and start of the chunks left (20 bits each) */
    uint64_t done;   /* chunks finished, by whoever took them */
    uint64_t failed; /* bit c: the helper could not reach the origin for chunk c */
    char pad0[40];
    uint64_t owner; /* 0 free, else the origin's id (never 0) */
    int32_t pid;    /* the origin process */
    uint32_t is_get;
    uint64_t remote; /* the origin's buffer, in its address space */
    uint64_t target; /* where in the target's memory, as its user names it */
    uint64_t len;
    uint64_t op; /* 0: a copy; else an operation the users agree on (apply) */
    /* The origin's buffer as VE memory (0: it is not): its owner and HMEM
     * address, for a target that can see it (veshm_copy_help_serve's view). */
    int64_t buf_owner;
    uint64_t buf_hmem;
};
static_assert(offsetof(struct veshm_copy_help, owner) == 64 &&
                  sizeof(struct veshm_copy_help) == 128,
              "the slot's lines: what a job changes, then its description");

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

/* Claims a chunk of job seq: the origin the first one left, a helper the
 * last one left, so that from one job to the next each core mostly copies
 * the same part (its lines still in its cache when a buffer is used again)
 * and the two meet wherever the helper's start puts them. -1 when fewer than
 * min_left (at least 1) are left or the job is over (the compare-and-swap
 * fails on the number). */
static inline int64_t veshm_copy_help_claim_at(struct veshm_copy_help *h, uint64_t seq, int last,
                                               uint64_t min_left) {
    uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
    for (;;) {
        if (veshm_copy_help_seq(word) != seq || !veshm_copy_help_open(word) ||
            veshm_copy_help_left(word) < min_left)
            return -1;
        uint64_t next = last ? word - (1ull << VESHM_COPY_HELP_COUNT_SHIFT) : word + 1;
        if (__atomic_compare_exchange_n(&h->claim, &word, next, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (int64_t)((last ? next >> VESHM_COPY_HELP_COUNT_SHIFT : word) &
                             VESHM_COPY_HELP_FIELD_MASK);
    }
}

static inline int64_t veshm_copy_help_claim(struct veshm_copy_help *h, uint64_t seq) {
    return veshm_copy_help_claim_at(h, seq, 0, 1);
}

/* A helper's claim. */
static inline int64_t veshm_copy_help_claim_last(struct veshm_copy_help *h, uint64_t seq) {
    return veshm_copy_help_claim_at(h, seq, 1, 1);
}

/* The chunk size of a job of len bytes: both sides derive it from len. */
static inline uint64_t veshm_copy_help_chunk(uint64_t len) {
    uint64_t per = (len + VESHM_COPY_HELP_MAX_CHUNKS - 1) / VESHM_COPY_HELP_MAX_CHUNKS;
    per = (per + VESHM_COPY_HELP_CHUNK - 1) / VESHM_COPY_HELP_CHUNK * VESHM_COPY_HELP_CHUNK;
    return per > VESHM_COPY_HELP_CHUNK ? per : VESHM_COPY_HELP_CHUNK;
}

static inline uint64_t veshm_copy_help_chunk_len(uint64_t len, uint64_t chunk, int64_t c) {
    uint64_t off = (uint64_t)c * chunk;
    return len - off < chunk ? len - off : chunk;
}

/* The origin's part of chunk bytes [off, off + n): through its view. */
static inline void veshm_copy_help_do(const struct veshm_copy_help_job *job, size_t off, size_t n,
                                      veshm_copy_help_apply_fn apply) {
    uint8_t *buf = (uint8_t *)job->buf;
    if (job->op != 0)
        apply(job->op, job->view + off, buf + off, n);
    else if (job->is_get)
        memcpy(buf + off, job->view + off, n);
    else
        memcpy(job->view + off, buf + off, n);
}

/* The pages a helper copied into or out of the target's memory are mapped in
 * the target's page tables, not in the origin's view: the origin's next
 * small transfers to them would each take a page fault (1.2 us a page on a
 * VM; OSU's osu_oshm_put_mr lost half its rate at 64-512 KiB after its
 * helped warm-up). So the origin maps a helper's chunks into its view once
 * (madvise), remembering which pages it did in a table of 64 KiB blocks
 * indexed by address: a slot holds the block's number (high bits) and its
 * pages done (16 low bits). Lossy on purpose: a block evicted by a
 * collision, or a view unmapped and mapped again at the same address, costs
 * a fault later, never a wrong byte. */
#define VESHM_COPY_HELP_BLOCK_SHIFT 16
#define VESHM_COPY_HELP_BLOCKS 8192u
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

static inline void veshm_copy_help_map_in(uint8_t *p, size_t n, int is_get) {
    static uint64_t seen[VESHM_COPY_HELP_BLOCKS];
    const uintptr_t page_shift = 12 /* x86-64: 16 pages a block */,
                    block = (uintptr_t)1 << VESHM_COPY_HELP_BLOCK_SHIFT;
    uintptr_t end = (uintptr_t)p + n;
    for (uintptr_t at = (uintptr_t)p; at < end;) {
        uintptr_t b = at >> VESHM_COPY_HELP_BLOCK_SHIFT, next = (b + 1)
                                                                << VESHM_COPY_HELP_BLOCK_SHIFT;
        uintptr_t to = next < end ? next : end;
        unsigned first = (unsigned)((at & (block - 1)) >> page_shift),
                 last = (unsigned)(((to - 1) & (block - 1)) >> page_shift);
        uint64_t want = ((2ull << last) - 1) & ~((1ull << first) - 1);
        uint64_t *slot = &seen[b % VESHM_COPY_HELP_BLOCKS],
                 had = __atomic_load_n(slot, __ATOMIC_RELAXED);
        uint64_t have = had >> 16 == b + 1 ? had & 0xffff : 0;
        if ((have & want) != want) {
            uintptr_t from = at & ~(((uintptr_t)1 << page_shift) - 1);
            /* Fails only on kernels before 5.14: the faults stay where they were. */
            (void)madvise((void *)from, to - from,
                          is_get ? MADV_POPULATE_READ : MADV_POPULATE_WRITE);
            __atomic_store_n(slot, (uint64_t)(b + 1) << 16 | have | want, __ATOMIC_RELAXED);
        }
        at = to;
    }
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
    __atomic_store_n(&h->is_get, (uint32_t)job->is_get, __ATOMIC_RELAXED);
    __atomic_store_n(&h->op, job->op, __ATOMIC_RELAXED);
    __atomic_store_n(&h->buf_owner, job->buf_owner, __ATOMIC_RELAXED);
    __atomic_store_n(&h->buf_hmem, job->buf_hmem, __ATOMIC_RELAXED);
    __atomic_store_n(&h->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->failed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->claim,
                     seq << VESHM_COPY_HELP_SEQ_SHIFT | nchunks << VESHM_COPY_HELP_COUNT_SHIFT,
                     __ATOMIC_RELEASE);
    return seq;
}

/* Origin: does job with the help of whoever serves h. owner: this origin's
 * id in the slot (not 0). apply: for a job with an op (may be NULL
 * otherwise; it must know job->op). alive (may be NULL) is asked now and
 * then while a helper's chunk is outstanding: 0 means the target is gone.
 * Returns the chunks the target did (0: all done here, also when the slot
 * was taken or the job too small), or -1 if alive said the target is gone
 * before its chunks were done. */
static inline int64_t veshm_copy_help_origin(struct veshm_copy_help *h, uint64_t owner,
                                             const struct veshm_copy_help_job *job,
                                             veshm_copy_help_apply_fn apply, int (*alive)(void *),
                                             void *arg) {
    uint64_t none = 0, chunk = veshm_copy_help_chunk(job->len),
             nchunks = (job->len + chunk - 1) / chunk;
    if (job->len < VESHM_COPY_HELP_MIN ||
        !__atomic_compare_exchange_n(&h->owner, &none, owner, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        veshm_copy_help_do(job, 0, job->len, apply);
        return 0;
    }
    uint64_t seq = veshm_copy_help_publish(h, getpid(), job, nchunks);
    int64_t c;
    uint64_t mine = 0; /* bit c: chunk c done here */
    while ((c = veshm_copy_help_claim(h, seq)) >= 0) {
        mine |= 1ull << c;
        veshm_copy_help_do(job, (size_t)c * chunk, veshm_copy_help_chunk_len(job->len, chunk, c),
                           apply);
        __atomic_fetch_add(&h->done, 1, __ATOMIC_RELEASE);
    }
    /* The helper's chunks: it is working on them now (it claims only while
     * it runs, one at a time). */
    for (unsigned spins = 0; __atomic_load_n(&h->done, __ATOMIC_ACQUIRE) < nchunks;) {
        if (alive != NULL && ++spins % (1u << 16) == 0 && !alive(arg))
            return -1;
    }
    /* Chunks a helper could not reach this process for: it did nothing of
     * them (an accumulate must not be applied twice). */
    uint64_t failed = __atomic_load_n(&h->failed, __ATOMIC_ACQUIRE);
    for (c = 0; failed != 0; ++c, failed >>= 1) {
        if (failed & 1) {
            veshm_copy_help_do(job, (size_t)c * chunk,
                               veshm_copy_help_chunk_len(job->len, chunk, c), apply);
            mine |= 1ull << c;
        }
    }
    __atomic_store_n(&h->owner, 0, __ATOMIC_RELEASE);
    for (c = 0; (uint64_t)c < nchunks; ++c)
        if (!(mine >> c & 1))
            veshm_copy_help_map_in(job->view + (size_t)c * chunk,
                                   veshm_copy_help_chunk_len(job->len, chunk, c), job->is_get);
    return (int64_t)nchunks - __builtin_popcountll(mine);
}

/* How a helper sees the origin's buffer when it is VE memory: its own view
 * of len bytes at hmem of the VE process owner, or NULL (then the kernel
 * copies, process_vm_readv/_writev). */
typedef uint8_t *(*veshm_copy_help_view_fn)(void *arg, int64_t owner, uint64_t hmem, uint64_t len);

/* Target: does the chunks of h's open job it can claim. resolve turns the
 * job's target and length into this process's memory, or NULL to refuse;
 * view (may be NULL) finds the origin's buffer when the slot names it as VE
 * memory, so that a chunk is one memcpy, without the kernel's page pinning;
 * apply (NULL: jobs with an op are refused) does a job's op. Whatever the
 * slot says is checked (any process that can write the slot can write it).
 * *refused is set when the kernel refused to reach the origin (ptrace
 * scope): the origin does that chunk itself, and the caller should not help
 * any more. Through the kernel, the last VESHM_COPY_HELP_KERNEL_LEAVES chunks
 * of a copy are the origin's. Returns the chunks done here. */
static inline int veshm_copy_help_serve(
    struct veshm_copy_help *h, uint8_t *(*resolve)(void *arg, uint64_t target, uint64_t len),
    veshm_copy_help_view_fn view, veshm_copy_help_apply_fn apply, void *arg, int *refused) {
    uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
    if (!veshm_copy_help_open(word))
        return 0;
    uint64_t seq = veshm_copy_help_seq(word);
    /* Read before claiming: a claim that succeeds proves the job they
     * describe was still open. */
    pid_t pid = (pid_t)__atomic_load_n(&h->pid, __ATOMIC_RELAXED);
    uint64_t remote = __atomic_load_n(&h->remote, __ATOMIC_RELAXED);
    uint64_t target = __atomic_load_n(&h->target, __ATOMIC_RELAXED);
    uint64_t len = __atomic_load_n(&h->len, __ATOMIC_RELAXED);
    int is_get = __atomic_load_n(&h->is_get, __ATOMIC_RELAXED) != 0;
    uint64_t op = __atomic_load_n(&h->op, __ATOMIC_RELAXED);
    int64_t buf_owner = __atomic_load_n(&h->buf_owner, __ATOMIC_RELAXED);
    uint64_t buf_hmem = __atomic_load_n(&h->buf_hmem, __ATOMIC_RELAXED);
    uint64_t chunk = veshm_copy_help_chunk(len);
    /* A job of this very process would copy between its own buffers at an
     * address the slot chose. */
    if (pid == getpid() || pid <= 0 || (op != 0 && (is_get || apply == NULL)))
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
    if (theirs == NULL && op != 0 && operand_len < chunk) {
        uint8_t *p = (uint8_t *)realloc(operand, chunk);
        if (p == NULL)
            return 0;
        operand = p;
        operand_len = chunk;
    }
    uint64_t min_left = theirs != NULL || op != 0 ? 1 : VESHM_COPY_HELP_KERNEL_LEAVES + 1;
    int events = 0;
    int64_t c;
    while ((c = veshm_copy_help_claim_at(h, seq, 1, min_left)) >= 0) {
        size_t off = (size_t)c * chunk, n = veshm_copy_help_chunk_len(len, chunk, c);
        if (theirs != NULL) {
            if (op != 0)
                apply(op, mine + off, theirs + off, n);
            else if (is_get)
                memcpy(theirs + off, mine + off, n);
            else
                memcpy(mine + off, theirs + off, n);
        } else {
            struct iovec local = {op != 0 ? operand : mine + off, n},
                         peer = {(void *)(uintptr_t)(remote + off), n};
            ssize_t got = is_get ? process_vm_writev(pid, &local, 1, &peer, 1, 0)
                                 : process_vm_readv(pid, &local, 1, &peer, 1, 0);
            if (got != (ssize_t)n) {
                __atomic_fetch_or(&h->failed, 1ull << c, __ATOMIC_RELEASE);
                *refused = 1;
            } else if (op != 0) {
                apply(op, mine + off, operand, n);
            }
        }
        __atomic_fetch_add(&h->done, 1, __ATOMIC_RELEASE);
        ++events;
        if (*refused)
            break;
    }
    return events;
}

#endif
