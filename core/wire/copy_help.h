/* Large copies shared by the two processes they concern. The origin of a put
 * or get publishes it in a slot in the target's shared memory and copies it
 * in 64 KiB chunks; the target, whenever it polls (MPI's progress, a UCX
 * interface's), claims chunks of it too, with process_vm_readv/_writev (the
 * origin's buffer is private memory: the kernel is the only way in). Who
 * takes a chunk is decided by a compare-and-swap on one word holding the
 * job's number, its chunk count and the next chunk, so a late helper can
 * neither take a chunk of a finished job nor run past its end while the next
 * origin rewrites the fields. A target that computes never claims: the
 * origin then copies everything, for one atomic per chunk. contrib/bench/copy
 * measures what the second core gives: 1.5-2x from 1 MiB, nothing below it.
 *
 * Users: the same-host path of MPI windows (mpi_osc_route/direct_help.c) and
 * the veshm transport (ucx_tl_veshm/veshm_help.c). C, header only: both are
 * C libraries that share no code otherwise. */
#ifndef VESHM_COPY_HELP_H
#define VESHM_COPY_HELP_H

/* Needs _GNU_SOURCE (process_vm_readv) before the first system header. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define VESHM_COPY_HELP_CHUNK (64u * 1024)
/* From here two cores copy faster than one (contrib/bench/copy). */
#define VESHM_COPY_HELP_MIN (1024u * 1024)

/* The slot, in memory both processes map; two cache lines. */
struct veshm_copy_help {
    uint64_t owner;  /* 0 free, else the origin's id (never 0) */
    uint64_t claim;  /* job number (24 bits), chunk count, next chunk (20 bits each) */
    uint64_t done;   /* chunks copied */
    uint64_t failed; /* the helper could not reach the origin: copy it all again */
    int64_t pid;     /* the origin process */
    uint64_t remote; /* the origin's buffer, in its address space */
    uint64_t target; /* where in the target's memory, as its user names it */
    uint64_t len;
    uint64_t is_get;
    char pad[56];
};

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

/* Claims the next chunk of job seq; -1 when none is left or the job is over
 * (the compare-and-swap fails on the number). */
static inline int64_t veshm_copy_help_claim(struct veshm_copy_help *h, uint64_t seq) {
    uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
    for (;;) {
        if (veshm_copy_help_seq(word) != seq || !veshm_copy_help_open(word))
            return -1;
        if (__atomic_compare_exchange_n(&h->claim, &word, word + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (int64_t)(word & VESHM_COPY_HELP_FIELD_MASK);
    }
}

static inline size_t veshm_copy_help_chunk_len(uint64_t len, int64_t c) {
    uint64_t off = (uint64_t)c * VESHM_COPY_HELP_CHUNK;
    return len - off < VESHM_COPY_HELP_CHUNK ? len - off : VESHM_COPY_HELP_CHUNK;
}

/* n bytes at off between the target's memory (view) and the origin's buffer. */
static inline void veshm_copy_help_copy(uint8_t *view, void *buf, size_t off, size_t n,
                                        int is_get) {
    if (is_get)
        memcpy((uint8_t *)buf + off, view + off, n);
    else
        memcpy(view + off, (uint8_t *)buf + off, n);
}

/* Origin: copies n bytes between view (the target's memory as this process
 * sees it, named target for the target) and buf, with the help of whoever
 * serves h. owner: this origin's id in the slot (not 0). alive (may be NULL)
 * is asked now and then while a helper's chunk is outstanding: 0 means the
 * target is gone. Returns the chunks the target copied (0: all done here,
 * also when the slot was taken or the copy too small), or -1 if alive said
 * the target is gone before its chunks were done. */
static inline int64_t veshm_copy_help_origin(struct veshm_copy_help *h, uint64_t owner,
                                             uint8_t *view, uint64_t target, void *buf, size_t n,
                                             int is_get, int (*alive)(void *), void *arg) {
    uint64_t none = 0, nchunks = (n + VESHM_COPY_HELP_CHUNK - 1) / VESHM_COPY_HELP_CHUNK;
    if (n < VESHM_COPY_HELP_MIN || nchunks > VESHM_COPY_HELP_FIELD_MASK ||
        !__atomic_compare_exchange_n(&h->owner, &none, owner, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        veshm_copy_help_copy(view, buf, 0, n, is_get);
        return 0;
    }
    uint64_t seq =
        (veshm_copy_help_seq(__atomic_load_n(&h->claim, __ATOMIC_RELAXED)) + 1) & 0xffffff;
    if (seq == 0)
        seq = 1;
    /* Atomic, relaxed: a late helper may read them while they change (its
     * claim then fails). */
    __atomic_store_n(&h->pid, (int64_t)getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&h->remote, (uint64_t)(uintptr_t)buf, __ATOMIC_RELAXED);
    __atomic_store_n(&h->target, target, __ATOMIC_RELAXED);
    __atomic_store_n(&h->len, (uint64_t)n, __ATOMIC_RELAXED);
    __atomic_store_n(&h->is_get, (uint64_t)is_get, __ATOMIC_RELAXED);
    __atomic_store_n(&h->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->failed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->claim,
                     seq << VESHM_COPY_HELP_SEQ_SHIFT | nchunks << VESHM_COPY_HELP_COUNT_SHIFT,
                     __ATOMIC_RELEASE);
    int64_t c;
    uint64_t own = 0;
    while ((c = veshm_copy_help_claim(h, seq)) >= 0) {
        ++own;
        veshm_copy_help_copy(view, buf, (size_t)c * VESHM_COPY_HELP_CHUNK,
                             veshm_copy_help_chunk_len(n, c), is_get);
        __atomic_fetch_add(&h->done, 1, __ATOMIC_RELEASE);
    }
    /* The helper's chunks: it is copying them now (it claims only while it
     * runs, one at a time). */
    for (unsigned spins = 0; __atomic_load_n(&h->done, __ATOMIC_ACQUIRE) < nchunks;) {
        if (alive != NULL && ++spins % (1u << 16) == 0 && !alive(arg))
            return -1;
    }
    /* A helper that could not reach this process copied nothing of the chunk
     * it claimed: all again (the same bytes; the source has not changed). */
    int64_t helped = (int64_t)(nchunks - own);
    if (__atomic_load_n(&h->failed, __ATOMIC_ACQUIRE)) {
        veshm_copy_help_copy(view, buf, 0, n, is_get);
        helped = 0;
    }
    __atomic_store_n(&h->owner, 0, __ATOMIC_RELEASE);
    return helped;
}

/* Target: copies the chunks of h's open job it can claim. resolve turns the
 * job's target and length into this process's memory, or NULL to refuse
 * (whatever the slot says is checked there: any process that can write the
 * slot can write it). *refused is set when the kernel refused to reach the
 * origin (ptrace scope): the origin copies it all again, and the caller
 * should not help any more. Returns the chunks copied here. */
static inline int veshm_copy_help_serve(struct veshm_copy_help *h,
                                        uint8_t *(*resolve)(void *arg, uint64_t target,
                                                            uint64_t len),
                                        void *arg, int *refused) {
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
    /* A job of this very process would copy between its own buffers at an
     * address the slot chose. */
    if (pid == getpid() || pid <= 0)
        return 0;
    uint8_t *mine = resolve(arg, target, len);
    if (mine == NULL)
        return 0;
    int events = 0;
    int64_t c;
    while ((c = veshm_copy_help_claim(h, seq)) >= 0) {
        size_t off = (size_t)c * VESHM_COPY_HELP_CHUNK, n = veshm_copy_help_chunk_len(len, c);
        struct iovec local = {mine + off, n}, peer = {(void *)(uintptr_t)(remote + off), n};
        ssize_t got = is_get ? process_vm_writev(pid, &local, 1, &peer, 1, 0)
                             : process_vm_readv(pid, &local, 1, &peer, 1, 0);
        if (got != (ssize_t)n) {
            __atomic_store_n(&h->failed, 1, __ATOMIC_RELEASE);
            *refused = 1;
        }
        __atomic_fetch_add(&h->done, 1, __ATOMIC_RELEASE);
        ++events;
        if (*refused)
            break;
    }
    return events;
}

#endif
