/* The operation engine: see veshm_op.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_op_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/arch/bitops.h>
#include <ucs/arch/cpu.h>
#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <uct/base/uct_iface.h>
#include <uct/base/uct_iov.inl>

#include "ve_offload.h"
#include "veo_veshm.h"
#include "veshm_pio.h"
#include "veshm_platform.h"
#include "veshm_proc.h"

/* Operations up to this size that start on an idle ring are finished in the
 * call: on a busy machine the caller's core is the free one. */
#define UCT_VESHM_SYNC_MAX (4ul << 20)

/* VE DMA the transport posted in this process (all interfaces), for tests
 * and proofs. */
static uint64_t uct_veshm_dma_posts, uct_veshm_dma_bytes;

int uct_veshm_engines_holding;

__attribute__((visibility("default"))) void uct_veshm_dma_stats(uint64_t *posts, uint64_t *bytes) {
    if (posts)
        *posts = __atomic_load_n(&uct_veshm_dma_posts, __ATOMIC_RELAXED);
    if (bytes)
        *bytes = __atomic_load_n(&uct_veshm_dma_bytes, __ATOMIC_RELAXED);
}

int uct_veshm_engine_can_start_with(uct_veshm_engine_t *eng, size_t bounce_need) {
    /* Nothing overtakes a request waiting in the pending queue: a fence
     * between them would be void otherwise. */
    if (uct_veshm_engine_behind_pending(eng) || !ucs_queue_is_empty(&eng->post_queue) ||
        uct_veshm_engine_ring_full(eng) || (eng->fence_pending && uct_veshm_engine_in_flight(eng)))
        return 0;
    if (bounce_need == 0)
        return 1;
    uct_veshm_bounce_mark_t mark = uct_veshm_bounce_mark(&eng->bounce);
    uint8_t *p = uct_veshm_engine_bounce(eng, bounce_need, 0);
    uct_veshm_bounce_rollback(&eng->bounce, mark);
    return p != NULL;
}

/* ---- operations ---- */

static uct_veshm_op_t *uct_veshm_op_get(uct_veshm_engine_t *eng, uct_veshm_rkey_t *rkey,
                                        uint64_t remote, uct_completion_t *comp, int is_get) {
    uct_veshm_op_t *op = ucs_mpool_get(&eng->ops);
    if (op == NULL)
        return NULL;
    op->comp = comp;
    op->rkey = rkey;
    op->status = UCS_OK;
    op->is_get = is_get;
    op->fenced = 0;
    op->in_bounce = 0;
    op->posted_all = 0;
    op->inflight = 0;
    op->posted_bytes = 0;
    op->remote = remote;
    op->iovcnt = op->iov_index = op->iov_offset = 0;
    op->unpack_cb = NULL;
    op->sync = 0;
    op->chunk = eng->config.dma_chunk;
    return op;
}

/* op's only buffer: length bytes at b in the bounce ring. */
static void uct_veshm_op_set_bounce(uct_veshm_op_t *op, uint8_t *b, size_t length) {
    op->in_bounce = 1;
    op->iovcnt = 1;
    op->iov[0].buffer = b;
    op->iov[0].length = length;
    op->iov[0].count = 1;
    op->iov[0].memh = UCT_MEM_HANDLE_NULL;
}

ucs_status_t uct_veshm_remote_at(uct_veshm_rkey_t *rkey, uint64_t addr, size_t *len,
                                 uint64_t *vehva, uint8_t **host, int *writable) {
    const veshm_rkey_info_t *k = &rkey->info;
    if (addr < k->region_addr || addr - k->region_addr >= k->region_len)
        return UCS_ERR_INVALID_PARAM;
    uint64_t rel = k->region_hmem + (addr - k->region_addr) - k->area_hmem;
    /* The granule is a power of two (veshm_rkey_format.c checks): no division
     * on the path of every small put and get. */
    uint64_t idx = rel >> ucs_ilog2(k->granule), off = rel & (k->granule - 1);
    size_t avail = ucs_min(k->region_len - (addr - k->region_addr), k->granule - off);
    ucs_assert(idx < k->area_count);
    *len = ucs_min(*len, avail);
    const uct_veshm_attach_t *e = uct_veshm_rkey_area(rkey, (unsigned)idx);
    if (e == NULL)
        return UCS_ERR_NO_MEMORY;
    *vehva = e->vehva + off;
    *host = e->host ? e->host + off : NULL;
    *writable = e->writable;
    return UCS_OK;
}

/* VEHVA of local memory at p; *len cut to the contiguous part.
 * UCS_ERR_UNREACHABLE if DMA cannot reach it (then it is staged). */
static ucs_status_t uct_veshm_local_at(uct_veshm_engine_t *eng, uct_veshm_op_t *op,
                                       uct_mem_h uct_memh, uint8_t *p, size_t *len,
                                       uint64_t *vehva) {
    if (op->in_bounce) {
        *vehva = uct_veshm_bounce_vehva(&eng->bounce, p);
        return UCS_OK;
    }
    uct_veshm_memh_t *memh = uct_memh;
    if (memh == NULL || p < (uint8_t *)memh->address ||
        p >= (uint8_t *)memh->address + memh->length)
        return UCS_ERR_UNREACHABLE;
    if (!uct_veshm_memh_is_ve(memh)) {
        /* Host memory, registered for DMA as a whole. */
        uint64_t base;
        ucs_status_t status = uct_veshm_memh_vh_vehva(memh, &base);
        if (status != UCS_OK)
            return status;
        *vehva = base + (uint64_t)(p - (uint8_t *)memh->address);
        return UCS_OK;
    }
    uint64_t g = uct_veshm_proc.granule;
    uint64_t rel = memh->hmem + (uint64_t)(p - (uint8_t *)memh->address) - memh->area_hmem;
    uct_veshm_attach_t *e = uct_veshm_memh_local(memh, (unsigned)(rel / g));
    if (e == NULL)
        return UCS_ERR_UNREACHABLE;
    *vehva = e->vehva + rel % g;
    *len = ucs_min(*len, g - rel % g);
    return UCS_OK;
}

/* Posts one descriptor: UCS_OK, UCS_ERR_NO_RESOURCE (try again later), or
 * UCS_ERR_IO_ERROR. */
static ucs_status_t uct_veshm_post(uct_veshm_engine_t *eng, uct_veshm_op_t *op, uint64_t dst,
                                   uint64_t src, size_t len, void *copy_dst, const void *copy_src) {
    if (uct_veshm_engine_ring_full(eng))
        return UCS_ERR_NO_RESOURCE;
    uct_veshm_desc_t *d = &eng->descs[eng->desc_head & (eng->desc_count - 1)];
    int rc = veo_dma_post(eng->proc, dst, src, (int)len, &d->handle);
    if (rc == -EAGAIN)
        return UCS_ERR_NO_RESOURCE;
    if (rc != 0) {
        ucs_debug("veshm: veo_dma_post(0x%lx, 0x%lx, %zu) failed: %d", (unsigned long)dst,
                  (unsigned long)src, len, rc);
        return UCS_ERR_IO_ERROR;
    }
    d->op = op;
    d->bounce_end = eng->bounce.head;
    d->copy_dst = copy_dst;
    d->copy_src = copy_src;
    d->copy_len = copy_dst ? len : 0;
    d->handle.status = -EAGAIN; /* not yet seen complete */
    ++eng->desc_head;
    ++op->inflight;
    op->posted_bytes += len;
    ++eng->dma_posts;
    eng->dma_bytes += len;
    __atomic_fetch_add(&uct_veshm_dma_posts, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&uct_veshm_dma_bytes, len, __ATOMIC_RELAXED);
    return UCS_OK;
}

/* Moves the next piece of op: an edge through the host view, or one DMA
 * descriptor. Returns the bytes taken care of, 0 when out of resources. */
static size_t uct_veshm_op_piece(uct_veshm_engine_t *eng, uct_veshm_op_t *op, uct_mem_h memh,
                                 uint8_t *local, size_t len) {
    size_t n = len;
    uint64_t rvehva;
    uint8_t *rhost;
    int writable;
    ucs_status_t status = uct_veshm_remote_at(op->rkey, op->remote, &n, &rvehva, &rhost, &writable);
    if (status != UCS_OK) {
        if (status == UCS_ERR_INVALID_PARAM)
            ucs_error("veshm: remote address 0x%lx outside the registered region",
                      (unsigned long)op->remote);
        op->status = status;
        return len;
    }
    if (!op->is_get && !writable) {
        op->status = UCS_ERR_INVALID_ADDR;
        return len;
    }
    unsigned head = (unsigned)(-rvehva & 3);
    if (head != 0 || n < 4) {
        /* DMA moves whole aligned words only: the bytes before the first and
         * after the last word go through the host view of the attachment, so
         * no neighbouring byte of the peer is ever rewritten. */
        size_t e = head ? ucs_min(head, n) : n;
        if (rhost == NULL) {
            op->status = UCS_ERR_IO_ERROR;
            return len;
        }
        if (op->is_get)
            memcpy(local, rhost, e);
        else
            memcpy(rhost, local, e);
        return e;
    }
    size_t body = ucs_min(n & ~(size_t)3, op->chunk);
    size_t ln = body;
    uint64_t lvehva;
    if (uct_veshm_local_at(eng, op, memh, local, &ln, &lvehva) == UCS_OK && (lvehva & 3) == 0 &&
        ln >= 4) {
        body = ln & ~(size_t)3;
        status = op->is_get ? uct_veshm_post(eng, op, lvehva, rvehva, body, NULL, NULL)
                            : uct_veshm_post(eng, op, rvehva, lvehva, body, NULL, NULL);
    } else {
        /* Staged through the bounce ring. */
        body = ucs_min(body, eng->config.seg_size);
        uct_veshm_bounce_mark_t mark = uct_veshm_bounce_mark(&eng->bounce);
        uint8_t *b = uct_veshm_engine_bounce(eng, body, 0);
        if (b == NULL)
            return 0;
        uint64_t bvehva = uct_veshm_bounce_vehva(&eng->bounce, b);
        if (op->is_get) {
            status = uct_veshm_post(eng, op, bvehva, rvehva, body, local, b);
        } else {
            memcpy(b, local, body);
            status = uct_veshm_post(eng, op, rvehva, bvehva, body, NULL, NULL);
        }
        if (status == UCS_ERR_NO_RESOURCE)
            uct_veshm_bounce_rollback(&eng->bounce, mark);
    }
    if (status == UCS_ERR_NO_RESOURCE)
        return 0;
    if (status != UCS_OK)
        op->status = status;
    return body;
}

/* Posts as much of op as resources allow; UCS_OK when all is posted, else
 * UCS_ERR_NO_RESOURCE. */
static ucs_status_t uct_veshm_op_post(uct_veshm_engine_t *eng, uct_veshm_op_t *op) {
    if (op->fenced) {
        if (uct_veshm_engine_in_flight(eng))
            return UCS_ERR_NO_RESOURCE;
        op->fenced = 0;
    }
    while (op->iov_index < op->iovcnt) {
        uct_iov_t *iov = &op->iov[op->iov_index];
        size_t total = iov->length * ucs_max(iov->count, 1u);
        if (op->iov_offset >= total || op->status != UCS_OK) {
            ++op->iov_index;
            op->iov_offset = 0;
            continue;
        }
        size_t done = uct_veshm_op_piece(
            eng, op, iov->memh, (uint8_t *)iov->buffer + op->iov_offset, total - op->iov_offset);
        if (done == 0)
            return UCS_ERR_NO_RESOURCE;
        op->iov_offset += done;
        op->remote += done;
    }
    op->posted_all = 1;
    return UCS_OK;
}

/* Finishes op if all is posted and nothing in flight; 1 if it did. */
static int uct_veshm_op_try_complete(uct_veshm_engine_t *eng, uct_veshm_op_t *op) {
    if (!op->posted_all || op->inflight > 0 || op->sync)
        return 0;
    /* The data first: the bounce space it is in is free from now on. */
    if (op->unpack_cb != NULL && op->status == UCS_OK)
        op->unpack_cb(op->unpack_arg, op->unpack_buf, op->unpack_len);
    op->unpack_cb = NULL;
    if (eng->in_fence && op->comp != NULL) {
        /* Completion callbacks belong to progress, not to a fence call. */
        ucs_queue_push(&eng->done, &op->queue);
        return 1;
    }
    if (op->comp != NULL)
        uct_invoke_completion(op->comp, op->status);
    ucs_mpool_put(op);
    return 1;
}

/* Posts queued operations in order while resources allow. */
unsigned uct_veshm_engine_post_queued(uct_veshm_engine_t *eng) {
    unsigned events = 0;
    while (!ucs_queue_is_empty(&eng->post_queue)) {
        uct_veshm_op_t *op = ucs_queue_head_elem_non_empty(&eng->post_queue, uct_veshm_op_t, queue);
        if (uct_veshm_op_post(eng, op) != UCS_OK)
            break;
        ucs_queue_pull_non_empty(&eng->post_queue);
        events += uct_veshm_op_try_complete(eng, op);
    }
    uct_veshm_engine_rehold(eng);
    return events;
}

/* Polls descriptors in flight; a poll of one the DMA engine has not started
 * yet copies it here, so progress and the DMA engine share the work. Newest
 * first: the DMA engine takes the oldest, so the two work from opposite ends.
 * Then retires the finished ones in order; returns them. */
unsigned uct_veshm_engine_reap(uct_veshm_engine_t *eng) {
    unsigned events = 0, polled = 0;
    uint64_t mask = eng->desc_count - 1;
    for (uint64_t i = eng->desc_head; i != eng->desc_tail && polled < 16;) {
        uct_veshm_desc_t *d = &eng->descs[--i & mask];
        if (d->handle.status != -EAGAIN)
            continue;
        ++polled;
        int rc = veo_dma_poll(eng->proc, &d->handle);
        if (rc == -EAGAIN)
            continue;
        d->handle.status = rc;
    }
    while (uct_veshm_engine_in_flight(eng)) {
        uct_veshm_desc_t *d = &eng->descs[eng->desc_tail & mask];
        if (d->handle.status == -EAGAIN)
            break;
        int rc = d->handle.status;
        if (rc == 0 && d->copy_len > 0)
            memcpy(d->copy_dst, d->copy_src, d->copy_len);
        uct_veshm_bounce_release(&eng->bounce, d->bounce_end);
        ++eng->desc_tail;
        uct_veshm_op_t *op = d->op;
        ucs_assert(op->inflight > 0);
        if (rc != 0) {
            ucs_debug("veshm: DMA failed with exception 0x%x", rc);
            op->status = UCS_ERR_IO_ERROR;
        }
        --op->inflight;
        uct_veshm_op_try_complete(eng, op);
        ++events;
    }
    return events;
}

/* Starts op: posts what it can, queues the rest. UCS_OK when already
 * complete (no completion callback then), else UCS_INPROGRESS. */
static ucs_status_t uct_veshm_op_start(uct_veshm_engine_t *eng, uct_veshm_op_t *op) {
    if (eng->fence_pending) {
        op->fenced = 1;
        eng->fence_pending = 0;
        uct_veshm_engine_rehold(eng);
    }
    int was_empty = !uct_veshm_engine_in_flight(eng);
    size_t total = 0;
    for (size_t i = 0; i < op->iovcnt; ++i)
        total += op->iov[i].length * ucs_max(op->iov[i].count, 1u);
    if (was_empty && total <= UCT_VESHM_SYNC_MAX && ucs_queue_is_empty(&eng->post_queue)) {
        /* It will be finished in this call: in descriptors that this thread
         * copies at post time when the DMA engine thread has no CPU of its
         * own, and that it shares with that thread when it has (the DMA
         * engine takes the oldest, the reap below copies from the newest). */
        op->chunk = ucs_min(eng->config.dma_chunk, eng->config.inline_max);
    }
    if (!ucs_queue_is_empty(&eng->post_queue) || uct_veshm_op_post(eng, op) != UCS_OK) {
        ucs_queue_push(&eng->post_queue, &op->queue);
        uct_veshm_engine_rehold(eng);
        return UCS_INPROGRESS;
    }
    if (was_empty && op->inflight > 0 && op->posted_bytes <= UCT_VESHM_SYNC_MAX) {
        /* Only this operation's descriptors are in flight: reaping now (a poll
         * copies a descriptor the DMA engine has not started) finishes it
         * without a callback. Larger ones are left to the DMA engine and
         * progress. */
        op->sync = 1;
        uct_veshm_engine_reap(eng);
        op->sync = 0;
    }
    if (op->inflight == 0) {
        ucs_status_t status = op->status;
        op->comp = NULL;
        uct_veshm_op_try_complete(eng, op);
        return status;
    }
    return UCS_INPROGRESS;
}

/* A put whose data is already in the bounce ring at b. */
static ucs_status_t uct_veshm_op_put_from_bounce(uct_veshm_engine_t *eng, uint8_t *b, size_t length,
                                                 uint64_t remote_addr, uct_veshm_rkey_t *rkey) {
    uct_veshm_op_t *op = uct_veshm_op_get(eng, rkey, remote_addr, NULL, 0);
    if (op == NULL)
        return UCS_ERR_NO_MEMORY;
    uct_veshm_op_set_bounce(op, b, length);
    ucs_status_t status = uct_veshm_op_start(eng, op);
    return (status == UCS_INPROGRESS) ? UCS_OK : status;
}

ucs_status_t uct_veshm_op_put_short(uct_veshm_engine_t *eng, const void *buffer, unsigned length,
                                    uint64_t remote_addr, uct_veshm_rkey_t *rkey) {
    /* A store through the host view (any attachment, not only the region's
     * run) when nothing must go first; else staged. */
    if (eng->config.short_pio && uct_veshm_engine_may_copy_now(eng)) {
        uint8_t *host = uct_veshm_pio_span(rkey, remote_addr, length, 1);
        if (host != NULL) {
            memcpy(host, buffer, length);
            uct_veshm_pio_count(0, length);
            return UCS_OK;
        }
    }
    if (!uct_veshm_engine_can_start_with(eng, 0))
        return UCS_ERR_NO_RESOURCE;
    uint8_t *b = uct_veshm_engine_bounce(eng, length, (unsigned)(remote_addr & 3));
    if (b == NULL)
        return UCS_ERR_NO_RESOURCE;
    memcpy(b, buffer, length);
    return uct_veshm_op_put_from_bounce(eng, b, length, remote_addr, rkey);
}

ssize_t uct_veshm_op_put_bcopy(uct_veshm_engine_t *eng, uct_pack_callback_t pack_cb, void *arg,
                               uint64_t remote_addr, uct_veshm_rkey_t *rkey) {
    size_t max = eng->config.max_bcopy;
    /* UCT_INVALID_RKEY comes with nothing to put (UCX's suite): the bounce
     * path packs first and never looks at the key of an empty put. */
    if (max <= eng->config.pio_max && (uct_rkey_t)rkey != UCT_INVALID_RKEY &&
        uct_veshm_engine_may_copy_now(eng)) {
        /* Packed straight into the peer's memory when the attachment holds
         * the largest the packer may write: no fence waits, and nothing
         * overtakes an operation it must not. */
        uint8_t *host = uct_veshm_pio_span(rkey, remote_addr, max, 1);
        if (host != NULL) {
            size_t length = pack_cb(host, arg);
            ucs_assert(length <= max);
            uct_veshm_pio_count(0, length);
            return (ssize_t)length;
        }
    }
    if (!uct_veshm_engine_can_start_with(eng, 0))
        return UCS_ERR_NO_RESOURCE;
    uint8_t *b = uct_veshm_engine_bounce(eng, max, (unsigned)(remote_addr & 3));
    if (b == NULL)
        return UCS_ERR_NO_RESOURCE;
    size_t length = pack_cb(b, arg);
    ucs_assert(length <= max);
    uct_veshm_bounce_trim(&eng->bounce, max - length); /* what the packer did not use */
    ucs_status_t status = uct_veshm_op_put_from_bounce(eng, b, length, remote_addr, rkey);
    return (status == UCS_OK) ? (ssize_t)length : status;
}

ucs_status_t uct_veshm_op_get_bcopy(uct_veshm_engine_t *eng, uct_unpack_callback_t unpack_cb,
                                    void *arg, size_t length, uint64_t remote_addr,
                                    uct_veshm_rkey_t *rkey, uct_completion_t *comp) {
    /* A load through the host view (any attachment, not only the region's
     * run) up to PIO_MAX when nothing must go first; else staged. */
    if (length <= eng->config.pio_max && uct_veshm_engine_may_copy_now(eng)) {
        const uint8_t *host = uct_veshm_pio_span(rkey, remote_addr, length, 0);
        if (host != NULL) {
            uct_veshm_pio_count(1, length);
            unpack_cb(arg, host, length);
            return UCS_OK;
        }
    }
    if (!uct_veshm_engine_can_start_with(eng, 0))
        return UCS_ERR_NO_RESOURCE;
    uint8_t *b = uct_veshm_engine_bounce(eng, ucs_max(length, 1), (unsigned)(remote_addr & 3));
    if (b == NULL)
        return UCS_ERR_NO_RESOURCE;
    uct_veshm_op_t *op = uct_veshm_op_get(eng, rkey, remote_addr, comp, 1);
    if (op == NULL)
        return UCS_ERR_NO_MEMORY;
    uct_veshm_op_set_bounce(op, b, length);
    op->unpack_cb = unpack_cb;
    op->unpack_arg = arg;
    op->unpack_buf = b;
    op->unpack_len = length;
    return uct_veshm_op_start(eng, op);
}

ucs_status_t uct_veshm_op_zcopy(uct_veshm_engine_t *eng, int is_get, const uct_iov_t *iov,
                                size_t iovcnt, uint64_t remote_addr, uct_veshm_rkey_t *rkey,
                                uct_completion_t *comp) {
    if (iovcnt > UCT_VESHM_MAX_IOV)
        return UCS_ERR_INVALID_PARAM;
    /* Queued in order behind the pending requests, not ahead of them. */
    if (uct_veshm_engine_behind_pending(eng))
        return UCS_ERR_NO_RESOURCE;
    /* Done here through the host view when nothing must finish first. */
    if (uct_iov_total_length(iov, iovcnt) <= eng->config.pio_max &&
        uct_veshm_engine_may_copy_now(eng) &&
        uct_veshm_pio_iov(rkey, is_get, iov, iovcnt, remote_addr) == UCS_OK)
        return UCS_OK;
    uct_veshm_op_t *op = uct_veshm_op_get(eng, rkey, remote_addr, comp, is_get);
    if (op == NULL)
        return UCS_ERR_NO_MEMORY;
    op->iovcnt = iovcnt;
    memcpy(op->iov, iov, iovcnt * sizeof(*iov));
    return uct_veshm_op_start(eng, op);
}

/* ---- progress ---- */

/* Calls pending requests while new operations can start. */
static unsigned uct_veshm_engine_dispatch(uct_veshm_engine_t *eng) {
    unsigned events = 0;
    eng->dispatching = 1;
    while (!ucs_queue_is_empty(&eng->pending) &&
           uct_veshm_engine_can_start_with(eng, eng->config.max_bcopy + 8)) {
        ucs_queue_elem_t *elem = ucs_queue_pull_non_empty(&eng->pending);
        uct_veshm_pending_priv_t *priv = ucs_container_of(elem, uct_veshm_pending_priv_t, queue);
        uct_pending_req_t *req = ucs_container_of((void *)priv, uct_pending_req_t, priv);
        int fence_after = priv->fence_after;
        ucs_status_t status = req->func(req);
        if (status == UCS_OK) {
            /* req may be released already. */
            if (fence_after)
                uct_veshm_engine_fence_moving(eng);
            ++events;
            continue;
        }
        /* UCS_INPROGRESS: it started part of its work and stays first;
         * anything else: it could not start, try again later. */
        ucs_queue_push_head(&eng->pending, elem);
        if (status != UCS_INPROGRESS)
            break;
        ++events;
    }
    eng->dispatching = 0;
    uct_veshm_engine_rehold(eng);
    return events;
}

unsigned uct_veshm_engine_progress(uct_veshm_engine_t *eng) {
    /* The usual case: every operation was finished in its call. UCP calls
     * this from every wait loop of the process (a barrier's too). */
    if (ucs_likely(!uct_veshm_engine_in_flight(eng) && ucs_queue_is_empty(&eng->post_queue) &&
                   ucs_queue_is_empty(&eng->done) && ucs_queue_is_empty(&eng->pending) &&
                   ucs_queue_is_empty(&eng->flushes))) {
        eng->fence_pending = 0; /* nothing moving: the fence is satisfied */
        uct_veshm_engine_set_hold(eng, 0);
        return 0;
    }
    unsigned events = 0;
    while (!ucs_queue_is_empty(&eng->done)) {
        uct_veshm_op_t *op = ucs_queue_pull_elem_non_empty(&eng->done, uct_veshm_op_t, queue);
        uct_invoke_completion(op->comp, op->status);
        ucs_mpool_put(op);
        ++events;
    }
    events += uct_veshm_engine_reap(eng);
    events += uct_veshm_engine_post_queued(eng);
    if (eng->fence_pending && !uct_veshm_engine_moving(eng)) {
        eng->fence_pending = 0;
        uct_veshm_engine_rehold(eng);
    }
    events += uct_veshm_engine_dispatch(eng);
    if (uct_veshm_engine_is_idle(eng)) {
        while (!ucs_queue_is_empty(&eng->flushes)) {
            uct_veshm_flush_t *f =
                ucs_queue_pull_elem_non_empty(&eng->flushes, uct_veshm_flush_t, queue);
            uct_invoke_completion(f->comp, UCS_OK);
            free(f);
            ++events;
        }
    }
    return events;
}
