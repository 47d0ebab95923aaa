/* Internals of the operation engine shared by veshm_op.c (operations,
 * progress) and veshm_engine.c (life cycle, fences, flushes, pending queue),
 * and the inline fast paths veshm_ep.c calls. */
#ifndef UCT_VESHM_OP_INT_H
#define UCT_VESHM_OP_INT_H

#include "veshm_op.h"

/* What the engine keeps in uct_pending_req_t::priv. */
typedef struct {
    ucs_queue_elem_t queue;
    struct uct_veshm_ep *ep;
    /* A fence came after this request: it takes effect once the request has
     * started (it was the last one queued then). */
    int fence_after;
} uct_veshm_pending_priv_t;

typedef struct {
    ucs_queue_elem_t queue;
    uct_completion_t *comp;
} uct_veshm_flush_t;

static inline int uct_veshm_engine_in_flight(const uct_veshm_engine_t *eng) {
    return eng->desc_head != eng->desc_tail;
}

static inline int uct_veshm_engine_ring_full(const uct_veshm_engine_t *eng) {
    ucs_assert(eng->desc_head - eng->desc_tail <= eng->desc_count);
    return eng->desc_head - eng->desc_tail >= eng->desc_count;
}

/* Data of started operations is still to move (in flight or queued). */
static inline int uct_veshm_engine_moving(const uct_veshm_engine_t *eng) {
    return uct_veshm_engine_in_flight(eng) || !ucs_queue_is_empty(&eng->post_queue);
}

/* Nothing moving and no completion left to report. */
static inline int uct_veshm_engine_is_idle(const uct_veshm_engine_t *eng) {
    return !uct_veshm_engine_moving(eng) && ucs_queue_is_empty(&eng->done);
}

/* A new operation would overtake requests waiting in the pending queue. */
static inline int uct_veshm_engine_behind_pending(const uct_veshm_engine_t *eng) {
    return !eng->dispatching && !ucs_queue_is_empty(&eng->pending);
}

/* Sets eng->hold (0 or 1), and counts the engines that hold. */
static inline void uct_veshm_engine_set_hold(uct_veshm_engine_t *eng, int hold) {
    if (hold != eng->hold)
        __atomic_fetch_add(&uct_veshm_engines_holding, hold - eng->hold, __ATOMIC_RELAXED);
    eng->hold = hold;
}

/* Recomputes eng->hold: called wherever the pending queue, the post queue
 * or fence_pending may have changed. */
static inline void uct_veshm_engine_rehold(uct_veshm_engine_t *eng) {
    uct_veshm_engine_set_hold(eng, !ucs_queue_is_empty(&eng->pending) ||
                                       !ucs_queue_is_empty(&eng->post_queue) || eng->fence_pending);
}

/* A new operation may be done right now by the caller (through the host
 * view): nothing pending or queued before it, no fence waiting. The usual
 * case is one load of a word of this library's own, so that the endpoint
 * need not be followed to its interface first (OpenSHMEM 8-byte putmem +
 * quiet, alternated runs: 10.9-11.3 ns with eng->hold first, 10.6-10.9 with
 * this word, 10.2-10.6 with no test at all, posix 9.5-10.1); then eng->hold;
 * the exact test only when this engine holds (pending requests that are
 * being dispatched, a fence with nothing left in flight). cachegrind, an
 * 8-byte put_short: five loads and branches of the engine were a fifth of
 * its instructions. */
static UCS_F_ALWAYS_INLINE int uct_veshm_engine_may_copy_now(const uct_veshm_engine_t *eng) {
    return ucs_likely(!__atomic_load_n(&uct_veshm_engines_holding, __ATOMIC_RELAXED)) ||
           !eng->hold ||
           (!uct_veshm_engine_behind_pending(eng) && ucs_queue_is_empty(&eng->post_queue) &&
            !(eng->fence_pending && uct_veshm_engine_in_flight(eng)));
}

/* Operations started from now on wait for the data moving now. */
static inline void uct_veshm_engine_fence_moving(uct_veshm_engine_t *eng) {
    if (uct_veshm_engine_moving(eng)) {
        eng->fence_pending = 1;
        uct_veshm_engine_rehold(eng);
    }
}

/* Bounce space (uct_veshm_bounce_alloc), from the start of the ring when
 * nothing holds any. */
static inline uint8_t *uct_veshm_engine_bounce(uct_veshm_engine_t *eng, size_t length,
                                               unsigned mod4) {
    if (uct_veshm_engine_is_idle(eng))
        uct_veshm_bounce_reset(&eng->bounce);
    return uct_veshm_bounce_alloc(&eng->bounce, length, mod4);
}

/* Whether a new operation needing bounce_need bytes of bounce space can start. */
int uct_veshm_engine_can_start_with(uct_veshm_engine_t *eng, size_t bounce_need);
/* Polls descriptors in flight and retires the finished ones; returns them. */
unsigned uct_veshm_engine_reap(uct_veshm_engine_t *eng);
/* Posts queued operations in order while resources allow. */
unsigned uct_veshm_engine_post_queued(uct_veshm_engine_t *eng);

#endif
