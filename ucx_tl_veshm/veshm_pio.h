/* Puts and gets as CPU stores and loads through the host's view of the peer's
 * attached area (the PCI window VE_REGISTER_PCI opened), made by the calling
 * thread: one copy, no bounce buffer, no DMA descriptor, nothing that waits
 * for another thread to be scheduled. Only attachments with a host view are
 * reached this way, puts only where the attachment is writable: the same
 * areas and rights as VE DMA through the attachment's VEHVA. */
#ifndef UCT_VESHM_PIO_H
#define UCT_VESHM_PIO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ucs/arch/bitops.h>
#include <ucs/sys/compiler_def.h>
#include <uct/api/uct.h>

#include "veshm_md.h"

/* Host view of [addr, addr + len) of the peer's region if the run of host
 * views from the region's start holds it and (for a put) may be written;
 * NULL otherwise. The usual case of every put, get and atomic: one cache
 * line of the key. */
static UCS_F_ALWAYS_INLINE uint8_t *uct_veshm_pio_run(const uct_veshm_rkey_t *rkey, uint64_t addr,
                                                      size_t len, int is_put) {
    uint64_t off = addr - rkey->pio_addr, run = is_put ? rkey->pio_put_len : rkey->pio_len;
    return off < run && len <= run - off ? rkey->pio_base + off : NULL;
}

/* Host view of [addr, addr + len) of the peer's region if one attachment holds
 * it whole and (for a put) may be written; NULL otherwise. Inline, without
 * division (the granule is a power of two, veshm_rkey_format.c): it is most
 * of what a small put or get costs here. */
static UCS_F_ALWAYS_INLINE uint8_t *uct_veshm_pio_span(const uct_veshm_rkey_t *rkey, uint64_t addr,
                                                       size_t len, int is_put) {
    const veshm_rkey_info_t *k = &rkey->info;
    uint8_t *run = uct_veshm_pio_run(rkey, addr, len, is_put);
    if (ucs_likely(run != NULL))
        return run;
    uint64_t off = addr - k->region_addr;
    if (off >= k->region_len || len > k->region_len - off)
        return NULL;
    uint64_t rel = k->region_hmem - k->area_hmem + off;
    uint64_t in = rel & (k->granule - 1);
    if (len > k->granule - in)
        return NULL;
    /* NULL: not attached yet (DMAATB full at unpack); the DMA path attaches. */
    const uct_veshm_attach_t *e =
        __atomic_load_n(&rkey->areas[rel >> ucs_ilog2(k->granule)], __ATOMIC_ACQUIRE);
    if (e == NULL || e->host == NULL || (is_put && !e->writable))
        return NULL;
    return e->host + in;
}

/* A copy through the host view: up to 64 bytes (UCT_VESHM_PIO_INLINE_MAX)
 * as two possibly overlapping runs of loads and stores of the widest width
 * that fits (bytes in the overlap are written twice, with the same value),
 * larger ones by memcpy, whose call through the PLT and size dispatch cost
 * OpenSHMEM's 8-byte putmem + quiet 1.4 ns of 28 (A/B, 30M puts: 0.0286 ->
 * 0.0272 us; UCX posix 0.0256). The runs are of vector values, not arrays:
 * GCC 12 also stored arrays of 16-byte values to the stack. */
#define UCT_VESHM_PIO_INLINE_MAX 64

/* Unaligned, aliasing-safe loads and stores of 4, 8 and 16 bytes. */
typedef uint32_t uct_veshm_pio_u32_t __attribute__((aligned(1), may_alias));
typedef uint64_t uct_veshm_pio_u64_t __attribute__((aligned(1), may_alias));
typedef long long uct_veshm_pio_v16_t __attribute__((vector_size(16), aligned(1), may_alias));

/* _n (1 or 2) values of _type at the start and at the end of n bytes. */
#define UCT_VESHM_PIO_COPY_RUN(_type, _n)                                                          \
    do {                                                                                           \
        const _type *_s = (const _type *)s, *_st = (const _type *)(s + n) - (_n);                  \
        _type *_d = (_type *)d, *_dt = (_type *)(d + n) - (_n);                                    \
        _type _h0 = _s[0], _h1 = _s[(_n)-1], _t0 = _st[0], _t1 = _st[(_n)-1];                      \
        _d[0] = _h0;                                                                               \
        _d[(_n)-1] = _h1;                                                                          \
        _dt[0] = _t0;                                                                              \
        _dt[(_n)-1] = _t1;                                                                         \
    } while (0)

static UCS_F_ALWAYS_INLINE void uct_veshm_pio_copy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if (n > UCT_VESHM_PIO_INLINE_MAX) {
        memcpy(d, s, n);
    } else if (n > 32) {
        UCT_VESHM_PIO_COPY_RUN(uct_veshm_pio_v16_t, 2);
    } else if (n > 16) {
        UCT_VESHM_PIO_COPY_RUN(uct_veshm_pio_v16_t, 1);
    } else if (n >= 8) {
        UCT_VESHM_PIO_COPY_RUN(uct_veshm_pio_u64_t, 1);
    } else if (n >= 4) {
        UCT_VESHM_PIO_COPY_RUN(uct_veshm_pio_u32_t, 1);
    } else if (n > 0) {
        uint8_t a = s[0], b = s[n / 2], c = s[n - 1];
        d[0] = a;
        d[n / 2] = b;
        d[n - 1] = c;
    }
}

/* Copies iov to (put) or from (get) the peer's memory at addr through the
 * host view if every byte of it can be; UCS_OK when done, UCS_ERR_UNREACHABLE
 * (nothing copied) when some part has no host view or may not be written. */
ucs_status_t uct_veshm_pio_iov(uct_veshm_rkey_t *rkey, int is_get, const uct_iov_t *iov,
                               size_t iovcnt, uint64_t addr);

/* Bytes put [0] and got [1] through the host view (all interfaces). */
extern uint64_t uct_veshm_pio_bytes[2];

/* Counts bytes moved through the host view (for tests and proofs). A load and
 * a store, not a locked add: the lock costs as much as a small get itself.
 * Interfaces progressed by several threads at once may lose counts; the
 * tests and proofs read it single-threaded. Inline: every put_short counts. */
static UCS_F_ALWAYS_INLINE void uct_veshm_pio_count(int is_get, size_t bytes) {
    uint64_t *c = &uct_veshm_pio_bytes[!!is_get];
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + bytes, __ATOMIC_RELAXED);
}

/* Bytes this process put and got through the host view (all interfaces). */
void uct_veshm_pio_stats(uint64_t *put_bytes, uint64_t *get_bytes);

#endif
