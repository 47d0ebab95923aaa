/* The operation engine of an interface: RMA operations turned into VE DMA
 * descriptors between VEHVAs of the transport's VE process, the ring of
 * descriptors in flight, the bounce ring, the queue of operations waiting for
 * resources, fences, flushes and the pending queue. Endpoints call one or two
 * of these functions per operation. Not thread safe: the interface's worker
 * serialises it, like UCX's own transports. */
#ifndef UCT_VESHM_OP_H
#define UCT_VESHM_OP_H

#include <sys/types.h>

#include <ucs/datastruct/mpool.h>
#include <ucs/datastruct/queue.h>
#include <uct/api/uct.h>

#include "veo_vedma.h"
#include "veshm_bounce.h"
#include "veshm_md.h"
#include "veshm_perf.h"

#define UCT_VESHM_MAX_IOV 16

struct uct_veshm_ep;

/* One RMA operation that is not finished: work left to post, descriptors in
 * flight, and what to do at the end. */
typedef struct uct_veshm_op {
    ucs_queue_elem_t queue;
    uct_completion_t *comp;
    uct_veshm_rkey_t *rkey;
    ucs_status_t status;
    int is_get;
    int fenced;    /* wait until everything before is complete */
    int in_bounce; /* the local buffers are in the bounce ring */
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

typedef struct uct_veshm_engine_config {
    size_t max_bcopy;     /* largest bcopy */
    size_t seg_size;      /* staging piece for memory DMA cannot reach */
    size_t dma_chunk;     /* bytes per DMA descriptor at most */
    size_t inline_max;    /* what the DMA engine copies at post time (node info) */
    size_t bounce_size;   /* bytes of the bounce ring, a multiple of granule */
    uint64_t granule;     /* VE memory allocation alignment */
    unsigned descriptors; /* DMA ring of the VE process */
    int short_pio;        /* put_short as a store through the host view */
    size_t pio_max;       /* bcopy and zcopy up to this size through the host view */
} uct_veshm_engine_config_t;

typedef struct uct_veshm_engine {
    struct veo_proc_handle *proc;
    uct_veshm_engine_config_t config;
    uct_veshm_bounce_t bounce;
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
    /* 0 only when nothing is pending or queued and no fence is set, so that
     * the fast paths test one word (uct_veshm_engine_may_copy_now); set
     * again by uct_veshm_engine_rehold after every change of those. */
    int hold;
    /* Progress is calling pending requests: they may start although the
     * pending queue is not empty (any other new operation may not). */
    int dispatching;
    ucs_mpool_t ops;
    uint64_t dma_posts, dma_bytes; /* statistics */
} uct_veshm_engine_t;

/* Engines of this process whose hold is set (any thread's): while it is 0,
 * the fast paths need not look at their own engine. */
extern int uct_veshm_engines_holding;

/* Allocates the bounce ring in proc's VE memory and the descriptor ring. */
ucs_status_t uct_veshm_engine_init(uct_veshm_engine_t *eng, struct veo_proc_handle *proc,
                                   const uct_veshm_engine_config_t *config);
/* Waits for what is in flight, then releases everything. */
void uct_veshm_engine_cleanup(uct_veshm_engine_t *eng);
/* The bounce ring, for the performance measurement (nothing may be moving). */
void uct_veshm_engine_perf_buffer(uct_veshm_engine_t *eng, uct_veshm_perf_buffer_t *buf);

/* Reaps finished descriptors, posts queued work, dispatches pending requests
 * and completes flushes; returns the events. */
unsigned uct_veshm_engine_progress(uct_veshm_engine_t *eng);
/* Operations started later wait for the completion of all started or queued
 * before; finish: complete the data movement of those now (uct_iface_fence),
 * leaving completion callbacks to progress. */
void uct_veshm_engine_fence(uct_veshm_engine_t *eng, int finish);
/* UCS_OK when idle; UCS_INPROGRESS with comp (if any) called once idle;
 * UCS_ERR_NO_RESOURCE while requests are pending. */
ucs_status_t uct_veshm_engine_flush(uct_veshm_engine_t *eng, uct_completion_t *comp);
/* UCS_ERR_BUSY if req could start now, else queues it (UCS_OK). */
ucs_status_t uct_veshm_engine_pending_add(uct_veshm_engine_t *eng, struct uct_veshm_ep *ep,
                                          uct_pending_req_t *req);
/* Queues req whatever the engine's resources (it waits for another one). */
ucs_status_t uct_veshm_engine_pending_push(uct_veshm_engine_t *eng, struct uct_veshm_ep *ep,
                                           uct_pending_req_t *req);
void uct_veshm_engine_pending_purge(uct_veshm_engine_t *eng, struct uct_veshm_ep *ep,
                                    uct_pending_purge_callback_t cb, void *arg);

/* Where remote address addr is: VEHVA and host view in our VE process;
 * *len is cut to what is contiguous there. */
ucs_status_t uct_veshm_remote_at(uct_veshm_rkey_t *rkey, uint64_t addr, size_t *len,
                                 uint64_t *vehva, uint8_t **host, int *writable);

/* The operations. Each returns as the UCT call of the same name, with
 * UCS_ERR_NO_RESOURCE when it cannot start now (uct_veshm_engine_can_start_with;
 * zcopy queues behind operations already started instead). */
/* put_short's usual store and get_bcopy's usual load are inline in the
 * endpoint (veshm_ep.c); these are the rest of them: through any
 * attachment's host view, or a bounce buffer and VE DMA. */
ucs_status_t uct_veshm_op_put_short(uct_veshm_engine_t *eng, const void *buffer, unsigned length,
                                    uint64_t remote_addr, uct_veshm_rkey_t *rkey);
ssize_t uct_veshm_op_put_bcopy(uct_veshm_engine_t *eng, uct_pack_callback_t pack_cb, void *arg,
                               uint64_t remote_addr, uct_veshm_rkey_t *rkey);
ucs_status_t uct_veshm_op_get_bcopy(uct_veshm_engine_t *eng, uct_unpack_callback_t unpack_cb,
                                    void *arg, size_t length, uint64_t remote_addr,
                                    uct_veshm_rkey_t *rkey, uct_completion_t *comp);
ucs_status_t uct_veshm_op_zcopy(uct_veshm_engine_t *eng, int is_get, const uct_iov_t *iov,
                                size_t iovcnt, uint64_t remote_addr, uct_veshm_rkey_t *rkey,
                                uct_completion_t *comp);

#endif
