/* The bounce ring of an interface: VE memory in the DMAATB of the transport's
 * VE process, for the data of short and bcopy operations and for staging
 * memory that VE DMA cannot reach. Space is taken at head and given back at
 * tail, in the order it was taken, when the descriptors using it complete.
 * Positions grow without wrapping; offsets in the buffer are modulo size.
 * Owned by the operation engine (veshm_op.c). */
#ifndef UCT_VESHM_BOUNCE_H
#define UCT_VESHM_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/debug/assert.h>

typedef struct uct_veshm_bounce {
    void *hmem;          /* the VE memory */
    uint8_t *host;       /* its host view */
    uint64_t vehva;      /* its VEHVA */
    size_t size;         /* bytes */
    uint64_t head, tail; /* taken up to head, free from tail */
} uct_veshm_bounce_t;

/* A position of the ring to go back to. */
typedef struct {
    uint64_t head, tail;
} uct_veshm_bounce_mark_t;

/* Nothing holds space: start over at the beginning, which is still in the
 * caches (the ring is larger than they are). */
static inline void uct_veshm_bounce_reset(uct_veshm_bounce_t *b) {
    b->tail = b->head = 0;
}

/* length bytes at an address congruent to mod4 modulo 4, contiguous; NULL if
 * the ring has no such space now. */
static inline uint8_t *uct_veshm_bounce_alloc(uct_veshm_bounce_t *b, size_t length, unsigned mod4) {
    uint64_t pos = b->head;
    size_t off = pos % b->size;
    size_t pad = (mod4 - off) & 3;
    ucs_assert(b->head - b->tail <= b->size);
    if (off + pad + length > b->size) {
        pos += b->size - off;
        off = 0;
        pad = mod4 & 3;
        if (pad + length > b->size)
            return NULL;
    }
    if (pos + pad + length - b->tail > b->size)
        return NULL;
    b->head = pos + pad + length;
    return b->host + off + pad;
}

/* Gives back the last unused bytes of the latest allocation. */
static inline void uct_veshm_bounce_trim(uct_veshm_bounce_t *b, size_t unused) {
    ucs_assert(b->head - b->tail >= unused);
    b->head -= unused;
}

/* Everything taken before position end is free again. */
static inline void uct_veshm_bounce_release(uct_veshm_bounce_t *b, uint64_t end) {
    ucs_assert(end <= b->head);
    if (end > b->tail)
        b->tail = end;
}

static inline uct_veshm_bounce_mark_t uct_veshm_bounce_mark(const uct_veshm_bounce_t *b) {
    uct_veshm_bounce_mark_t m = {b->head, b->tail};
    return m;
}

static inline void uct_veshm_bounce_rollback(uct_veshm_bounce_t *b, uct_veshm_bounce_mark_t m) {
    b->head = m.head;
    b->tail = m.tail;
}

/* VEHVA of p, which points into the ring's buffer (or just past it). */
static inline uint64_t uct_veshm_bounce_vehva(const uct_veshm_bounce_t *b, const uint8_t *p) {
    ucs_assert(p >= b->host && p <= b->host + b->size);
    return b->vehva + (uint64_t)(p - b->host);
}

#endif
