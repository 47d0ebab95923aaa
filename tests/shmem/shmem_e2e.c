/* OpenSHMEM end to end on shmem_malloc'ed symmetric data (VE memory when run
 * over veshm): blocking, non-blocking and strided put/get, atomics, quiet,
 * fence, barriers, a reduction, a broadcast and shmem_wait_until on a flag
 * written by a put. Every transferred byte is checked, and so are the bytes
 * around each target range. Everything that is accessed remotely lives on the
 * symmetric heap, none of it in static data: static data is host memory that
 * no transport registers, which UCP reaches only through its software RMA
 * emulation. Over veshm, large copies must be shared with their target. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <shmem.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_apart.h"
#include "ve_memory_probe.h"

#define MIB ((size_t)1 << 20)
#define MAX_XFER (16 * MIB)
#define GUARD 256
#define OFF 4096
#define SENT 0x5a

static int me, npes, left, right;
static const char *phase = "init";

/* One write per line (stderr is unbuffered): oshrun may print another PE's
 * output between the pieces of several. */
static void fail(const char *fmt, ...) {
    va_list ap;
    char line[1024];
    int n = snprintf(line, sizeof(line), "shmem_e2e [PE %d/%d] FAIL in %s: ", me, npes, phase);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    shmem_global_exit(1);
    exit(1);
}

static inline uint64_t pat_word(int owner, unsigned tag, size_t w) {
    uint64_t x = (uint64_t)w * 0x9e3779b97f4a7c15ull ^ ((uint64_t)owner << 40) ^
                 ((uint64_t)tag << 20) ^ 0x7654321ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return x;
}

static inline uint8_t pat(int owner, unsigned tag, size_t i) {
    return (uint8_t)(pat_word(owner, tag, i / 8) >> (8 * (i % 8)));
}

static void fill(uint8_t *p, size_t n, int owner, unsigned tag) {
    for (size_t w = 0; w * 8 < n; w++) {
        uint64_t x = pat_word(owner, tag, w);
        memcpy(p + w * 8, &x, n - w * 8 < 8 ? n - w * 8 : 8);
    }
}

static void expect_pat(const uint8_t *p, size_t n, int owner, unsigned tag, const char *what) {
    for (size_t w = 0; w * 8 < n; w++) {
        uint64_t x = pat_word(owner, tag, w);
        if (memcmp(p + w * 8, &x, n - w * 8 < 8 ? n - w * 8 : 8) == 0)
            continue;
        for (size_t i = w * 8; i < n; i++)
            if (p[i] != pat(owner, tag, i))
                fail("%s: byte %zu of %zu is 0x%02x, expected 0x%02x (data of PE %d)", what, i, n,
                     p[i], pat(owner, tag, i), owner);
    }
}

static void expect_byte(const uint8_t *p, size_t n, uint8_t v, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            fail("%s: byte %zu of %zu is 0x%02x, expected untouched 0x%02x", what, i, n, p[i], v);
}

/* Symmetric objects. */
static uint8_t *src, *dst; /* MAX_XFER + 2 * OFF each */
static long *ctr;          /* counters for atomics, 16 longs */
static long *olds;         /* npes * ROUNDS values some PE saw, gathered on PE 0 */
static long *flag;         /* shmem_wait_until target */
static long *red_src, *red_dst, *pwrk, *psync;
static uint8_t *lbuf; /* private */

static const size_t sizes[] = {1,     3,     8,       61,     4096,    4099,
                               65536, 65549, 1 << 20, 333333, 8 << 20, 16 << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void prepare(uint8_t *p, size_t n) {
    memset(p - GUARD, SENT, n + 2 * GUARD);
}

static void check_range(const uint8_t *p, size_t n, int owner, unsigned tag, const char *what) {
    char buf[160];
    snprintf(buf, sizeof(buf), "%s, %zu bytes", what, n);
    expect_byte(p - GUARD, GUARD, SENT, buf);
    expect_pat(p, n, owner, tag, buf);
    expect_byte(p + n, GUARD, SENT, buf);
}

static void phase_put_get(void) {
    phase = "shmem_putmem / shmem_getmem";
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = sizes[k], o = OFF + (k * 13) % 64;
        unsigned tag = (unsigned)k;
        prepare(dst + o, n);
        fill(src + o, n, me, tag);
        shmem_barrier_all();
        shmem_putmem(dst + o, src + o, n, right);
        shmem_barrier_all();
        check_range(dst + o, n, left, tag, "blocking put from left neighbour");
        /* Get reads the right neighbour's source buffer. */
        memset(lbuf, SENT, n + GUARD);
        shmem_getmem(lbuf, src + o, n, right);
        expect_pat(lbuf, n, right, tag, "blocking get from right neighbour");
        expect_byte(lbuf + n, GUARD, SENT, "blocking get: bytes past the end");
        shmem_barrier_all();
    }
}

static void phase_nbi(void) {
    phase = "shmem_putmem_nbi / shmem_getmem_nbi + shmem_quiet";
    /* Many non-blocking pieces in flight, completed by one quiet. */
    size_t piece = 65536 + 8, pieces = 64;
    prepare(dst + OFF, piece * pieces);
    fill(src + OFF, piece * pieces, me, 500);
    shmem_barrier_all();
    for (size_t j = 0; j < pieces; j++)
        shmem_putmem_nbi(dst + OFF + j * piece, src + OFF + j * piece, piece, right);
    shmem_quiet();
    shmem_barrier_all();
    check_range(dst + OFF, piece * pieces, left, 500, "nbi puts from left neighbour");

    memset(lbuf, SENT, piece * pieces + GUARD);
    for (size_t j = 0; j < pieces; j++)
        shmem_getmem_nbi(lbuf + j * piece, src + OFF + j * piece, piece, right);
    shmem_quiet();
    expect_pat(lbuf, piece * pieces, right, 500, "nbi gets from right neighbour");
    expect_byte(lbuf + piece * pieces, GUARD, SENT, "nbi gets: bytes past the end");
    /* Nobody refills a source buffer that a neighbour may still be reading. */
    shmem_barrier_all();

    /* One large non-blocking put and get. */
    size_t n = MAX_XFER;
    prepare(dst + OFF, n);
    fill(src + OFF, n, me, 501);
    shmem_barrier_all();
    shmem_putmem_nbi(dst + OFF, src + OFF, n, right);
    shmem_quiet();
    shmem_barrier_all();
    check_range(dst + OFF, n, left, 501, "16 MiB nbi put");
    shmem_getmem_nbi(lbuf, src + OFF, n, right);
    shmem_quiet();
    expect_pat(lbuf, n, right, 501, "16 MiB nbi get");
    shmem_barrier_all();
}

static void phase_strided(void) {
    phase = "shmem_long_iput / shmem_long_iget";
    long *s = (long *)(void *)(src + OFF), *d = (long *)(void *)(dst + OFF);
    size_t nelems = 10007;
    ptrdiff_t tst = 3, sst = 2;
    for (size_t i = 0; i < nelems * sst; i++)
        s[i] = (long)me * 1000000 + (long)i;
    for (size_t i = 0; i < nelems * tst + 8; i++)
        d[i] = -1;
    shmem_barrier_all();
    shmem_long_iput(d, s, tst, sst, nelems, right);
    shmem_barrier_all();
    for (size_t i = 0; i < nelems * tst + 8; i++) {
        long want =
            (i % tst == 0 && i / tst < nelems) ? (long)left * 1000000 + (long)(i / tst * sst) : -1;
        if (d[i] != want)
            fail("iput: element %zu is %ld, expected %ld", i, d[i], want);
    }
    /* iget: gather every 3rd element of the right neighbour's source into
     * every 2nd local slot. */
    long *l = (long *)(void *)lbuf;
    for (size_t i = 0; i < nelems * 2 + 8; i++)
        l[i] = -1;
    shmem_long_iget(l, s, 2, 3, nelems / 2, right);
    for (size_t i = 0; i < nelems * 2 + 8; i++) {
        long want =
            (i % 2 == 0 && i / 2 < nelems / 2) ? (long)right * 1000000 + (long)(i / 2 * 3) : -1;
        if (l[i] != want)
            fail("iget: element %zu is %ld, expected %ld", i, l[i], want);
    }
    shmem_barrier_all();
}

enum { ROUNDS = 100 };

static void expect_permutation(const long *v, size_t total, const char *what) {
    uint8_t *seen = calloc(total, 1);
    for (size_t i = 0; i < total; i++) {
        if (v[i] < 0 || (size_t)v[i] >= total || seen[v[i]])
            fail("%s: value %ld %s", what, v[i],
                 v[i] < 0 || (size_t)v[i] >= total ? "out of range" : "seen twice (lost update)");
        seen[v[i]] = 1;
    }
    free(seen);
}

static void phase_atomics(void) {
    phase = "shmem_long_atomic_fetch_add";
    int tgt = npes - 1;
    memset(ctr, 0, 16 * sizeof(long));
    shmem_barrier_all();
    long mine[ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        mine[r] = shmem_long_atomic_fetch_add(&ctr[0], 1, tgt);
    shmem_long_put(olds + (size_t)me * ROUNDS, mine, ROUNDS, 0);
    shmem_barrier_all();
    if (me == 0)
        expect_permutation(olds, (size_t)npes * ROUNDS, "fetch_add");
    if (me == tgt && ctr[0] != (long)npes * ROUNDS)
        fail("fetch_add counter ends at %ld", ctr[0]);
    if (shmem_long_atomic_fetch(&ctr[0], tgt) != (long)npes * ROUNDS)
        fail("atomic_fetch reads %ld", shmem_long_atomic_fetch(&ctr[0], tgt));
    shmem_barrier_all();

    phase = "shmem_long_atomic_swap";
    if (me == 0)
        ctr[1] = npes;
    shmem_barrier_all();
    long got = shmem_long_atomic_swap(&ctr[1], me, 0);
    shmem_long_p(&olds[me], got, 0);
    shmem_barrier_all();
    if (me == 0) {
        olds[npes] = ctr[1];
        expect_permutation(olds, (size_t)npes + 1, "swap");
    }
    shmem_barrier_all();

    phase = "shmem_long_atomic_compare_swap";
    for (int r = 0; r < ROUNDS; r++) {
        long cur = shmem_long_atomic_fetch(&ctr[2], 0);
        for (;;) {
            long seen = shmem_long_atomic_compare_swap(&ctr[2], cur, cur + 1, 0);
            if (seen == cur) {
                mine[r] = cur;
                break;
            }
            cur = seen;
        }
    }
    shmem_long_put(olds + (size_t)me * ROUNDS, mine, ROUNDS, 0);
    shmem_barrier_all();
    if (me == 0) {
        expect_permutation(olds, (size_t)npes * ROUNDS, "compare_swap");
        if (ctr[2] != (long)npes * ROUNDS)
            fail("compare_swap counter ends at %ld", ctr[2]);
    }
    /* A compare that does not match changes nothing. */
    long v = shmem_long_atomic_compare_swap(&ctr[2], -5, 77, 0);
    if (v != (long)npes * ROUNDS)
        fail("mismatching compare_swap returned %ld", v);
    shmem_barrier_all();
    if (me == 0 && ctr[2] != (long)npes * ROUNDS)
        fail("mismatching compare_swap changed the value to %ld", ctr[2]);
    shmem_barrier_all();
}

/* Data, fence, flag: the flag must not arrive before the data. The flag is
 * written by a put and awaited with shmem_wait_until. */
static void phase_fence_wait(void) {
    phase = "shmem_fence + shmem_wait_until";
    for (int round = 0; round < 4; round++) {
        size_t n = round == 3 ? 4 * MIB : (size_t)4096 << (4 * round);
        unsigned tag = 600 + round;
        prepare(dst + OFF, n);
        *flag = 0;
        fill(src + OFF, n, me, tag);
        shmem_barrier_all();
        shmem_putmem(dst + OFF, src + OFF, n, right);
        shmem_fence();
        long one = round + 1;
        shmem_long_put(flag, &one, 1, right);
        shmem_long_wait_until(flag, SHMEM_CMP_EQ, round + 1);
        check_range(dst + OFF, n, left, tag, "data ordered before the flag by shmem_fence");
        shmem_barrier_all();
    }

    phase = "shmem_quiet + shmem_long_p + shmem_wait_until";
    *flag = 0;
    prepare(dst + OFF, MIB);
    fill(src + OFF, MIB, me, 700);
    shmem_barrier_all();
    shmem_putmem_nbi(dst + OFF, src + OFF, MIB, right);
    shmem_quiet();
    shmem_long_p(flag, 42, right);
    shmem_long_wait_until(flag, SHMEM_CMP_GE, 42);
    check_range(dst + OFF, MIB, left, 700, "data completed by shmem_quiet before the flag");
    shmem_barrier_all();
}

static void phase_collectives(void) {
    phase = "shmem_long_sum_to_all / shmem_long_max_to_all";
    enum { NRED = 1000 };
    for (int i = 0; i < SHMEM_REDUCE_SYNC_SIZE; i++)
        psync[i] = SHMEM_SYNC_VALUE;
    for (int i = 0; i < NRED; i++)
        red_src[i] = (long)(me + 1) * (i + 1);
    shmem_barrier_all();
    shmem_long_sum_to_all(red_dst, red_src, NRED, 0, 0, npes, pwrk, psync);
    for (int i = 0; i < NRED; i++)
        if (red_dst[i] != (long)npes * (npes + 1) / 2 * (i + 1))
            fail("sum_to_all element %d is %ld", i, red_dst[i]);
    shmem_barrier_all();
    for (int i = 0; i < NRED; i++)
        red_src[i] = (long)((me * 7919 + i * 104729) % 1000003);
    shmem_barrier_all();
    shmem_long_max_to_all(red_dst, red_src, NRED, 0, 0, npes, pwrk, psync);
    for (int i = 0; i < NRED; i++) {
        long m = 0;
        for (int p = 0; p < npes; p++) {
            long x = (long)((p * 7919 + i * 104729) % 1000003);
            m = x > m ? x : m;
        }
        if (red_dst[i] != m)
            fail("max_to_all element %d is %ld, expected %ld", i, red_dst[i], m);
    }
    shmem_barrier_all();

    phase = "shmem_broadcast64";
    for (int i = 0; i < SHMEM_BCAST_SYNC_SIZE; i++)
        psync[i] = SHMEM_SYNC_VALUE;
    int root = npes - 1;
    size_t nb = 100003;
    uint64_t *bs = (uint64_t *)(void *)(src + OFF), *bd = (uint64_t *)(void *)(dst + OFF);
    for (size_t i = 0; i < nb; i++) {
        bs[i] = pat_word(me, 800, i);
        bd[i] = 0;
    }
    bd[nb] = 0x5a5a;
    shmem_barrier_all();
    shmem_broadcast64(bd, bs, nb, root, 0, 0, npes, psync);
    shmem_barrier_all();
    if (me != root) {
        for (size_t i = 0; i < nb; i++)
            if (bd[i] != pat_word(root, 800, i))
                fail("broadcast element %zu wrong", i);
        if (bd[nb] != 0x5a5a)
            fail("broadcast wrote past its end");
    }
    shmem_barrier_all();
}

/* Puts above UCP's zcopy threshold (32 KiB + 1 with veshm) and up to
 * veshm's largest put_short (128 KiB), from the heap and from private
 * memory. UCP 1.13 registers the buffer of each, then sends it by put_short
 * all the same, unless UCX_ZCOPY_THRESH is above them (veshm-mpi-env.sh): in
 * veshm mode the transport must see no registration per put. Every byte is
 * checked too. */
static void phase_mid_puts(void) {
    phase = "puts of 32-128 KiB";
    uint64_t (*regs)(void) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "uct_veshm_md_reg_count");
    memcpy(&regs, &sym, sizeof(sym));
    const size_t mid[] = {32 * 1024 + 1, 64 * 1024, 128 * 1024};
    const unsigned reps = 20, nmid = sizeof(mid) / sizeof(mid[0]);
    uint64_t before = regs != NULL ? regs() : 0;
    for (unsigned k = 0; k < nmid; k++) {
        size_t n = mid[k], o = OFF + 8 * k;
        unsigned tag = 1000 + k;
        prepare(dst + o, n);
        fill(src + o, n, me, tag);
        fill(lbuf, n, me, tag);
        shmem_barrier_all();
        for (unsigned r = 0; r < reps; r++) {
            shmem_putmem(dst + o, src + o, n, right);
            shmem_putmem(dst + o, lbuf, n, right);
        }
        shmem_barrier_all();
        check_range(dst + o, n, left, tag, "put of 32-128 KiB from left neighbour");
        shmem_barrier_all();
    }
    uint64_t made = regs != NULL ? regs() - before : 0;
    /* A zcopy put (256 KiB) registers its buffer: the count is live. */
    size_t big = 256 * 1024;
    fill(lbuf, big, me, 1100);
    prepare(dst + OFF, big);
    shmem_barrier_all();
    uint64_t before_big = regs != NULL ? regs() : 0;
    shmem_putmem(dst + OFF, lbuf, big, right);
    uint64_t made_big = regs != NULL ? regs() - before_big : 0;
    shmem_barrier_all();
    check_range(dst + OFF, big, left, 1100, "put of 256 KiB from left neighbour");
    if (ve_memory_expected()) {
        if (regs == NULL)
            fail("the veshm transport's statistics (uct_veshm_md_reg_count) are not loaded");
        if (made >= reps)
            fail("%llu registrations for %u puts of 32-128 KiB", (unsigned long long)made,
                 2 * reps * nmid);
        if (made_big == 0)
            fail("no registration counted for a 256 KiB put (zcopy)");
    }
}

/* Large puts and gets from PE 0 to PE 1 while PE 1 polls in
 * shmem_wait_until: over veshm, PE 1 copies chunks of them
 * (ucx_tl_veshm/veshm_help.h). Every byte is checked. Where the transport's
 * statistics are found and VE memory is promised (veshm mode), PE 1 must
 * have helped by the end: the copies repeat until it has, for up to 20
 * seconds. Whether PE 1 is on a CPU during a copy is the scheduler's choice;
 * it is made likely: PEs 0 and 1 run on different CPUs, and PE 0 starts a
 * round's copies the moment it sees PE 1 enter its wait. Unbound and waiting
 * in a barrier, 4 PEs on 2 busy cores (ctest -j2) once went 20 s (5010
 * copies) with PE 1 never running during one, as happens when all run on one
 * CPU. */
static void phase_helped(void) {
    phase = "large put/get while the target polls";
    void (*stats)(uint64_t *, uint64_t *) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "uct_veshm_help_stats");
    memcpy(&stats, &sym, sizeof(sym));
    /* more: another round follows; polling: PE 1 waits for round n (on PE
     * 0); copied: PE 0 is done with round n (on PE 1). */
    long *more = shmem_calloc(3, sizeof(long)), *polling = more + 1, *copied = more + 2;
    if (more == NULL)
        fail("allocation failed");
    const size_t n = 3 * MIB + 8, o = OFF + 40;
    uint64_t helped0 = 0, helped = 0;
    if (stats != NULL)
        stats(&helped0, NULL);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned round = 0;
    struct run_apart apart;
    if (me < 2)
        run_apart_begin(&apart, 0, me);
    for (;; round++) {
        unsigned tag = 900 + round;
        if (me == 1) {
            fill(src + o, n, me, tag);
            prepare(dst + o, n);
        }
        if (me == 0)
            fill(lbuf, n, me, tag);
        shmem_barrier_all();
        if (me == 1) {
            shmem_long_atomic_set(polling, (long)round + 1, 0);
            shmem_long_wait_until(copied, SHMEM_CMP_GE, (long)round + 1);
        }
        if (me == 0) {
            shmem_long_wait_until(polling, SHMEM_CMP_GE, (long)round + 1);
            shmem_putmem(dst + o, lbuf, n, 1);
            memset(lbuf, SENT, n + GUARD);
            shmem_getmem(lbuf, src + o, n, 1);
            expect_pat(lbuf, n, 1, tag, "large get from PE 1");
            expect_byte(lbuf + n, GUARD, SENT, "large get: bytes past the end");
            if (stats != NULL)
                stats(&helped, NULL);
            clock_gettime(CLOCK_MONOTONIC, &t);
            long again = stats != NULL && helped == helped0 && t.tv_sec - t0.tv_sec < 20;
            for (int pe = 0; pe < npes; pe++)
                shmem_long_p(more, again, pe);
            shmem_quiet();
            shmem_long_atomic_set(copied, (long)round + 1, 1);
        }
        shmem_barrier_all();
        if (me == 1)
            check_range(dst + o, n, 0, tag, "large put from PE 0");
        if (!*more)
            break;
    }
    if (me < 2)
        run_apart_end(&apart);
    if (me == 0 && ve_memory_expected()) {
        if (stats == NULL)
            fail("the veshm transport's statistics (uct_veshm_help_stats) are not loaded");
        if (helped == helped0)
            fail("PE 1 copied nothing of %u large puts and gets", 2 * (round + 1));
    }
    shmem_free(more);
}

int main(void) {
    shmem_init();
    me = shmem_my_pe();
    npes = shmem_n_pes();
    left = (me - 1 + npes) % npes;
    right = (me + 1) % npes;
    if (npes < 2)
        fail("needs at least 2 PEs");

    src = shmem_malloc(MAX_XFER + 2 * OFF);
    dst = shmem_malloc(MAX_XFER + 2 * OFF);
    ctr = shmem_calloc(16, sizeof(long));
    olds = shmem_calloc((size_t)npes * ROUNDS + 1, sizeof(long));
    flag = shmem_calloc(1, sizeof(long));
    red_src = shmem_malloc(1000 * sizeof(long));
    red_dst = shmem_malloc(1000 * sizeof(long));
    pwrk = shmem_malloc((1000 / 2 + 1 + SHMEM_REDUCE_MIN_WRKDATA_SIZE) * sizeof(long));
    psync = shmem_malloc((SHMEM_REDUCE_SYNC_SIZE + SHMEM_BCAST_SYNC_SIZE) * sizeof(long));
    lbuf = malloc(MAX_XFER + GUARD);
    if (!src || !dst || !ctr || !olds || !flag || !red_src || !red_dst || !pwrk || !psync || !lbuf)
        fail("allocation failed");

    int ve = ve_memory_probe(dst);
    if (me == 0)
        printf("shmem_e2e: %d PEs, symmetric heap is %s\n", npes,
               ve < 0 ? "not known (libveo not loaded)"
               : ve   ? "VE memory"
                      : "host memory");
    if (ve_memory_expected() && ve != 1)
        fail("shmem_malloc'ed memory is not VE memory");

    struct {
        void (*fn)(void);
        const char *name;
    } phases[] = {{phase_put_get, "put/get"},         {phase_mid_puts, "puts 32-128 KiB"},
                  {phase_nbi, "nbi + quiet"},         {phase_strided, "iput/iget"},
                  {phase_atomics, "atomics"},         {phase_fence_wait, "fence + wait"},
                  {phase_collectives, "collectives"}, {phase_helped, "large, helped"}};
    for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
        phases[p].fn();
        shmem_barrier_all();
        if (me == 0) {
            printf("  %-14s ok\n", phases[p].name);
            fflush(stdout);
        }
    }

    shmem_free(psync);
    shmem_free(pwrk);
    shmem_free(red_dst);
    shmem_free(red_src);
    shmem_free(flag);
    shmem_free(olds);
    shmem_free(ctr);
    shmem_free(dst);
    shmem_free(src);
    free(lbuf);
    if (me == 0)
        printf("shmem_e2e: all checks passed\n");
    fflush(stdout);
    shmem_finalize();
    return 0;
}
