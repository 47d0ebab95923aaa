/* veshm interface: RMA as VE DMA between VEHVAs of the transport's VE process,
 * its queue of DMA descriptors, the bounce buffer and the pending queue. */
#ifndef UCT_VESHM_IFACE_H
#define UCT_VESHM_IFACE_H

#include <uct/base/uct_iface.h>
#include <ucs/datastruct/queue.h>

#include "veo_vedma.h"
#include "veshm_md.h"

#define UCT_VESHM_TL_NAME "veshm"
#define UCT_VESHM_MAX_IOV 16
/* Transfers up to this size the emulated DMA engine copies at post time, in
 * the posting thread, unless its engine thread has CPUs of its own
 * (core/dma_engine.hpp, kSharedInlineMax); larger ones go to the engine. */
#define UCT_VESHM_DMA_INLINE_MAX ((size_t)256 << 10)

typedef struct uct_veshm_iface_config {
    uct_iface_config_t super;
    size_t bounce_size; /* VE memory for short/bcopy and staging */
    size_t max_short;
    size_t max_bcopy;
    size_t seg_size;   /* staging piece for memory DMA cannot reach */
    size_t dma_chunk;  /* bytes per DMA descriptor at most */
    double bandwidth;  /* 0: measure */
    double latency;    /* 0: measure */
    double peer_check; /* seconds between liveness checks of peers */
    int short_pio;     /* put_short as a store through the PCI window */
} uct_veshm_iface_config_t;

/* Device address: which kernel, namespaces and user (veshm_scope.h);
 * interface address: which process. */
typedef uct_veshm_scope_t uct_veshm_device_addr_t;

typedef struct uct_veshm_iface_addr {
    int32_t vh_pid;
    int32_t node;
} UCS_S_PACKED uct_veshm_iface_addr_t;

struct uct_veshm_ep;

/* One RMA operation that is not finished: work left to post, descriptors in
 * flight, and what to do at the end. */
typedef struct uct_veshm_op {
    ucs_queue_elem_t queue;
    struct uct_veshm_op *next_free;
    struct uct_veshm_ep *ep;
    uct_completion_t *comp;
    uct_veshm_rkey_t *rkey;
    ucs_status_t status;
    int is_get;
    int fenced;    /* wait until everything before is complete */
    int in_bounce; /* the local buffers are in the bounce buffer */
    int posted_all;
    int sync;     /* being started: completion is reported by the caller */
    size_t chunk; /* bytes per DMA descriptor at most, for this op */
    unsigned inflight;
    size_t posted_bytes; /* bytes handed to the DMA engine */
    uint64_t remote;     /* next remote address */
    size_t iovcnt, iov_index, iov_offset;
    uct_iov_t iov[UCT_VESHM_MAX_IOV];
    uct_unpack_callback_t unpack_cb; /* get_bcopy */
    void *unpack_arg;
    void *unpack_buf;
    size_t unpack_len;
} uct_veshm_op_t;

/* A posted DMA descriptor. */
typedef struct uct_veshm_desc {
    ve_dma_handle_t handle;
    uct_veshm_op_t *op;  /* NULL: no completion to report */
    uint64_t bounce_end; /* bounce ring position freed when this completes */
    void *copy_dst;      /* staged get: copy after completion */
    const void *copy_src;
    size_t copy_len;
} uct_veshm_desc_t;

typedef struct uct_veshm_iface {
    uct_base_iface_t super;
    struct veo_proc_handle *proc;
    int node;
    struct {
        size_t max_short, max_bcopy, seg_size, dma_chunk;
        double bandwidth, latency, overhead;
        ucs_time_t peer_check;
        int short_pio;
    } config;
    /* Bounce buffer: VE memory in our DMAATB, used as a ring. */
    struct {
        void *hmem;
        uint8_t *host;
        uint64_t vehva;
        size_t size;
        uint64_t head, tail; /* allocated up to head, free from tail */
    } bounce;
    /* Descriptors in flight, oldest first. */
    uct_veshm_desc_t *descs;
    unsigned desc_count; /* capacity (power of two) */
    uint64_t desc_head, desc_tail;
    ucs_queue_head_t post_queue; /* ops with work left to post, in order */
    ucs_queue_head_t pending;    /* uct_pending_req_t waiting for resources */
    ucs_queue_head_t flushes;    /* flush completions waiting for idle */
    ucs_queue_head_t done;       /* finished ops whose completion progress calls */
    int in_fence;                /* uct_iface_fence is finishing what started */
    /* The next operation to start waits until everything before is complete. */
    int fence_pending;
    /* Progress is calling pending requests: they may start although the
     * pending queue is not empty (any other new operation may not). */
    int dispatching;
    uct_veshm_op_t *free_ops;
    ucs_time_t next_peer_check;
    ucs_list_link_t eps;
    uint64_t dma_posts, dma_bytes; /* statistics */
} uct_veshm_iface_t;

typedef struct {
    ucs_queue_elem_t queue;
    uct_completion_t *comp;
} uct_veshm_flush_t;

/* What the transport keeps in uct_pending_req_t::priv. */
typedef struct {
    ucs_queue_elem_t queue;
    struct uct_veshm_ep *ep;
    /* A fence came after this request: it takes effect once the request has
     * started (it was the last one queued then). */
    int fence_after;
} uct_veshm_pending_priv_t;

/* Data of started operations is still to move (in flight or queued). */
static inline int uct_veshm_iface_moving(uct_veshm_iface_t *iface) {
    return iface->desc_head != iface->desc_tail || !ucs_queue_is_empty(&iface->post_queue);
}

static inline int uct_veshm_iface_idle(uct_veshm_iface_t *iface) {
    return !uct_veshm_iface_moving(iface) && ucs_queue_is_empty(&iface->done);
}

/* A new operation would overtake requests waiting in the pending queue. */
static inline int uct_veshm_iface_behind_pending(uct_veshm_iface_t *iface) {
    return !iface->dispatching && !ucs_queue_is_empty(&iface->pending);
}

/* Operations started from now on wait for the data moving now. */
static inline void uct_veshm_iface_fence_moving(uct_veshm_iface_t *iface) {
    if (uct_veshm_iface_moving(iface))
        iface->fence_pending = 1;
}

uct_veshm_op_t *uct_veshm_op_get(uct_veshm_iface_t *iface);
void uct_veshm_op_put(uct_veshm_iface_t *iface, uct_veshm_op_t *op);
/* Posts as much of op as resources allow; 1 when all is posted. */
int uct_veshm_op_post(uct_veshm_iface_t *iface, uct_veshm_op_t *op);
/* Finishes op if all is posted and nothing in flight; 1 if it did. */
int uct_veshm_op_try_complete(uct_veshm_iface_t *iface, uct_veshm_op_t *op);
/* Reaps finished descriptors (completing their operations); returns events. */
unsigned uct_veshm_iface_reap(uct_veshm_iface_t *iface);
/* Reaps finished descriptors, posts queued work, pending; returns events. */
unsigned uct_veshm_iface_progress(uct_iface_h tl_iface);
/* Bounce space of length bytes whose address is congruent to mod4 modulo 4. */
uint8_t *uct_veshm_bounce_alloc(uct_veshm_iface_t *iface, size_t length, unsigned mod4);
/* VE DMA the transport posted in this process (all interfaces), for tests
 * and proofs; exported as uct_veshm_dma_stats(). */
extern uint64_t uct_veshm_dma_posts, uct_veshm_dma_bytes;

/* Where remote address addr is: VEHVA and host view in our VE process;
 * *len is cut to what is contiguous there. */
ucs_status_t uct_veshm_remote_at(const uct_veshm_rkey_t *rkey, uint64_t addr, size_t *len,
                                 uint64_t *vehva, uint8_t **host, int *writable);

/* Whether a short/bcopy put or a new operation can start right now. */
int uct_veshm_iface_can_start(uct_veshm_iface_t *iface, size_t bounce_need);
/* uct_ep_fence / uct_iface_fence: operations started later wait for the
 * completion of all started or queued before. */
void uct_veshm_iface_add_fence(uct_veshm_iface_t *iface);

#endif
