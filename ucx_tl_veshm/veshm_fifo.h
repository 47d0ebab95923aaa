/* The receive FIFO of an interface, as it lies in VE memory (one VESHM area
 * of the receiver's VE process that every sender attaches): a control block,
 * a ring of element headers and the payload buffers the elements point to.
 *
 * Senders reserve an element by advancing head (a compare-and-swap, several
 * senders share one FIFO) while fewer than elems are outstanding, write the
 * payload into the buffer the element points to, and publish the element by
 * storing its sequence number last. The receiver consumes elements in order,
 * and gives each back by advancing tail. A buffer whose data the receiver's
 * handler keeps is swapped for a spare one before its element is given back,
 * so the element can be reused while the data stays where it is. */
#ifndef UCT_VESHM_FIFO_H
#define UCT_VESHM_FIFO_H

#include <stddef.h>
#include <stdint.h>

#include "copy_help.h"

#define UCT_VESHM_FIFO_LINE 64

/* The element's payload was not delivered (its sender failed to move it). */
#define UCT_VESHM_FIFO_FLAG_DROPPED 1u
/* The payload is in the element itself (small messages: one cache line pair
 * moves between the processes instead of a line of the element and one of
 * its buffer). */
#define UCT_VESHM_FIFO_FLAG_INLINE 2u

/* Bytes of an element before its inline payload, and the element's size. */
#define UCT_VESHM_FIFO_ELEM_HEADER 24
#define UCT_VESHM_FIFO_ELEM_SIZE (2 * UCT_VESHM_FIFO_LINE)
#define UCT_VESHM_FIFO_INLINE_MAX (UCT_VESHM_FIFO_ELEM_SIZE - UCT_VESHM_FIFO_ELEM_HEADER)

typedef struct uct_veshm_fifo_ctl {
    uint64_t head; /* next element to reserve (senders) */
    uint8_t pad0[UCT_VESHM_FIFO_LINE - sizeof(uint64_t)];
    uint64_t tail; /* elements given back (receiver) */
    uint8_t pad1[UCT_VESHM_FIFO_LINE - sizeof(uint64_t)];
    /* The receiving interface's random token while it is open, 0 once it
     * closes. A sender that finds another value knows its peer interface is
     * gone even while the peer process lives (a UCP worker destroyed, or the
     * FIFO's memory given to someone else). */
    uint64_t token;
    uint8_t pad2[UCT_VESHM_FIFO_LINE - sizeof(uint64_t)];
    /* Large puts and gets into the receiver's memory that it may help copy
     * (veshm_help.h). */
    struct veshm_copy_help help;
} uct_veshm_fifo_ctl_t;

typedef struct uct_veshm_fifo_elem {
    /* Index + 1 of the reservation it holds; stored last by the sender. A
     * stale value (from the last round) never equals what the receiver
     * expects, so nothing is cleared between rounds. */
    uint64_t seq;
    uint64_t data_off; /* payload: offset in the area, set by the receiver */
    uint32_t length;   /* payload bytes */
    uint8_t am_id;
    uint8_t flags; /* UCT_VESHM_FIFO_FLAG_* */
    uint8_t pad[2];
    uint8_t inline_data[UCT_VESHM_FIFO_INLINE_MAX];
} uct_veshm_fifo_elem_t;

/* Where the parts of a FIFO area are; the same for sender and receiver. */
static inline uct_veshm_fifo_ctl_t *uct_veshm_fifo_ctl(uint8_t *area) {
    return (uct_veshm_fifo_ctl_t *)area;
}

static inline uct_veshm_fifo_elem_t *uct_veshm_fifo_elem(uint8_t *area, uint64_t index,
                                                         uint32_t mask) {
    return (uct_veshm_fifo_elem_t *)(area + sizeof(uct_veshm_fifo_ctl_t)) + (index & mask);
}

/* Sender: reserves the next element; its index, or -1 when elems (a power of
 * two) are outstanding. *tail is the sender's copy of the receiver's tail,
 * read again only when the FIFO looks full by it: the receiver writes tail
 * all the time, and each read of it would move its cache line. */
static inline int64_t uct_veshm_fifo_reserve(uint8_t *area, uint32_t elems, uint64_t *tail) {
    uct_veshm_fifo_ctl_t *ctl = uct_veshm_fifo_ctl(area);
    uint64_t head = __atomic_load_n(&ctl->head, __ATOMIC_RELAXED);
    for (;;) {
        if (head - *tail >= elems) {
            /* Acquire: the receiver's data_off of given-back elements. */
            *tail = __atomic_load_n(&ctl->tail, __ATOMIC_ACQUIRE);
            if (head - *tail >= elems)
                return -1;
        }
        if (__atomic_compare_exchange_n(&ctl->head, &head, head + 1, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return (int64_t)head;
    }
}

/* Sender: whether a reservation would find room now. */
static inline int uct_veshm_fifo_has_room(uint8_t *area, uint32_t elems) {
    uct_veshm_fifo_ctl_t *ctl = uct_veshm_fifo_ctl(area);
    return __atomic_load_n(&ctl->head, __ATOMIC_RELAXED) -
               __atomic_load_n(&ctl->tail, __ATOMIC_ACQUIRE) <
           elems;
}

/* Sender: the element is complete; the receiver may take it. */
static inline void uct_veshm_fifo_publish(uct_veshm_fifo_elem_t *e, uint64_t index, uint8_t am_id,
                                          uint32_t length, uint8_t flags) {
    e->am_id = am_id;
    e->length = length;
    e->flags = flags;
    __atomic_store_n(&e->seq, index + 1, __ATOMIC_RELEASE);
}

/* Receiver: the element at index if it is published, else NULL. */
static inline uct_veshm_fifo_elem_t *uct_veshm_fifo_peek(uint8_t *area, uint64_t index,
                                                         uint32_t mask) {
    uct_veshm_fifo_elem_t *e = uct_veshm_fifo_elem(area, index, mask);
    return (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == index + 1) ? e : NULL;
}

/* Sender: whether the interface that handed out token still owns the FIFO. */
static inline int uct_veshm_fifo_is_open(uint8_t *area, uint64_t token) {
    return __atomic_load_n(&uct_veshm_fifo_ctl(area)->token, __ATOMIC_ACQUIRE) == token;
}

/* Receiver: every element before index is given back. */
static inline void uct_veshm_fifo_release(uint8_t *area, uint64_t index) {
    __atomic_store_n(&uct_veshm_fifo_ctl(area)->tail, index, __ATOMIC_RELEASE);
}

#endif
