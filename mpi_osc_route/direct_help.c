/* Large puts and gets of the same-host path, copied by two cores when the
 * target rank is inside MPI (polling for progress): the origin publishes the
 * transfer in the target's help slot and both claim 64 KiB chunks of it, the
 * origin copying through its view, the target between its own window and the
 * origin's buffer with process_vm_readv / process_vm_writev (the origin's
 * buffer is private memory: the kernel is the only way in). A target that
 * computes never comes: the origin then copies every chunk itself, at the
 * cost of one atomic per chunk. contrib/bench/copy measures what the second
 * core gives: 1.5-2x from 1 MiB, nothing below (the hand-over costs more). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "direct_win.h"

#include <sched.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#pragma weak opal_progress_register
extern int opal_progress_register(int (*cb)(void));

/* The claim word: the job's number (24 bits, 0: none yet), its chunk count
 * and the next unclaimed chunk (20 bits each). The count is in the word, not
 * only in the fields, so that a late helper cannot claim past the end of a
 * finished job while the next origin rewrites the fields. */
#define SEQ_SHIFT 40
#define COUNT_SHIFT 20
#define FIELD_MASK ((1ull << 20) - 1)

static uint64_t job_seq(uint64_t word) {
    return word >> SEQ_SHIFT;
}

/* Claims the next chunk of job seq; -1 when none is left or the job is over
 * (the compare-and-swap fails on the number). */
static int64_t claim(struct direct_help *h, uint64_t seq) {
    uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
    for (;;) {
        uint64_t count = (word >> COUNT_SHIFT) & FIELD_MASK, next = word & FIELD_MASK;
        if (job_seq(word) != seq || next >= count)
            return -1;
        if (__atomic_compare_exchange_n(&h->claim, &word, word + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (int64_t)next;
    }
}

/* n bytes at off between the target's memory (view) and the origin's buffer. */
static void copy(uint8_t *view, void *buf, size_t off, size_t n, int is_get) {
    if (is_get)
        memcpy((uint8_t *)buf + off, view + off, n);
    else
        memcpy(view + off, (uint8_t *)buf + off, n);
}

static size_t chunk_len(uint64_t len, int64_t c) {
    uint64_t off = (uint64_t)c * DIRECT_HELP_CHUNK;
    return len - off < DIRECT_HELP_CHUNK ? len - off : DIRECT_HELP_CHUNK;
}

void direct_copy(struct direct_win *w, int target, uint8_t *view, uint64_t offset, void *buf,
                 size_t n, int is_get) {
    struct direct_help *h = w->t[target].ctl != NULL ? &w->t[target].ctl->help : NULL;
    uint64_t none = 0, nchunks = (n + DIRECT_HELP_CHUNK - 1) / DIRECT_HELP_CHUNK;
    if (n < DIRECT_HELP_MIN || nchunks > FIELD_MASK || target == w->rank || h == NULL ||
        !__atomic_compare_exchange_n(&h->owner, &none, (uint64_t)w->rank + 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        copy(view, buf, 0, n, is_get);
        return;
    }
    uint64_t seq = (job_seq(__atomic_load_n(&h->claim, __ATOMIC_RELAXED)) + 1) & 0xffffff;
    if (seq == 0)
        seq = 1;
    /* Atomic, relaxed: a late helper may read them while they change (its
     * claim then fails). */
    __atomic_store_n(&h->pid, (int64_t)getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&h->remote, (uint64_t)(uintptr_t)buf, __ATOMIC_RELAXED);
    __atomic_store_n(&h->offset, offset, __ATOMIC_RELAXED);
    __atomic_store_n(&h->len, (uint64_t)n, __ATOMIC_RELAXED);
    __atomic_store_n(&h->is_get, (uint64_t)is_get, __ATOMIC_RELAXED);
    __atomic_store_n(&h->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->failed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->claim, seq << SEQ_SHIFT | nchunks << COUNT_SHIFT, __ATOMIC_RELEASE);
    int64_t c;
    uint64_t own = 0;
    while ((c = claim(h, seq)) >= 0) {
        ++own;
        copy(view, buf, (size_t)c * DIRECT_HELP_CHUNK, chunk_len(n, c), is_get);
        __atomic_fetch_add(&h->done, 1, __ATOMIC_RELEASE);
    }
    /* The helper's chunks: it is copying them now (it claims only while it
     * runs, one at a time). */
    while (__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) < nchunks)
        ;
    /* A helper that could not reach this process copied nothing of the chunk
     * it claimed: all again (the same bytes; the source has not changed). */
    if (__atomic_load_n(&h->failed, __ATOMIC_ACQUIRE))
        copy(view, buf, 0, n, is_get);
    else
        __atomic_store_n(&w->stats.helped, w->stats.helped + (nchunks - own), __ATOMIC_RELAXED);
    __atomic_store_n(&h->owner, 0, __ATOMIC_RELEASE);
}

/* This rank's part of a job in its own slot of w. */
static int help(struct direct_win *w) {
    struct direct_help *h = &w->t[w->rank].ctl->help;
    uint64_t seq = job_seq(__atomic_load_n(&h->claim, __ATOMIC_ACQUIRE));
    if (seq == 0 || w->help_off || w->t[w->rank].mem.view == NULL)
        return 0;
    /* Read before claiming: a claim that succeeds proves the job they
     * describe was still open. */
    pid_t pid = (pid_t)__atomic_load_n(&h->pid, __ATOMIC_RELAXED);
    uint64_t remote = __atomic_load_n(&h->remote, __ATOMIC_RELAXED);
    uint64_t offset = __atomic_load_n(&h->offset, __ATOMIC_RELAXED);
    uint64_t len = __atomic_load_n(&h->len, __ATOMIC_RELAXED);
    int is_get = __atomic_load_n(&h->is_get, __ATOMIC_RELAXED) != 0;
    if (offset > w->t[w->rank].size || len > w->t[w->rank].size - offset)
        return 0;
    uint8_t *mine = w->t[w->rank].mem.view[0] + offset;
    int events = 0;
    int64_t c;
    while ((c = claim(h, seq)) >= 0) {
        size_t off = (size_t)c * DIRECT_HELP_CHUNK, n = chunk_len(len, c);
        struct iovec local = {mine + off, n}, peer = {(void *)(uintptr_t)(remote + off), n};
        ssize_t got = is_get ? process_vm_writev(pid, &local, 1, &peer, 1, 0)
                             : process_vm_readv(pid, &local, 1, &peer, 1, 0);
        if (got != (ssize_t)n) {
            /* Not allowed (ptrace scope, another user): never again. */
            __atomic_store_n(&h->failed, 1, __ATOMIC_RELEASE);
            w->help_off = 1;
        }
        __atomic_fetch_add(&h->done, 1, __ATOMIC_RELEASE);
        ++events;
        if (w->help_off)
            break;
    }
    return events;
}

/* Progress callbacks running now, in any thread (direct_help_quiesce). */
static int helping;

/* Called by every opal_progress: only a rank inside MPI helps. */
static int help_progress(void) {
    int events = 0;
    __atomic_fetch_add(&helping, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* before reading the registry */
    unsigned count = direct_win_count();
    for (unsigned i = 0; i < count; ++i) {
        struct direct_win *w = direct_win_at(i);
        if (w != NULL)
            events += help(w);
    }
    __atomic_fetch_sub(&helping, 1, __ATOMIC_SEQ_CST);
    return events;
}

void direct_help_quiesce(void) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the registry slot cleared first */
    while (__atomic_load_n(&helping, __ATOMIC_SEQ_CST) != 0)
        sched_yield();
}

void direct_help_register(void) {
    static int registered;
    if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL) && opal_progress_register != NULL)
        opal_progress_register(help_progress);
}
