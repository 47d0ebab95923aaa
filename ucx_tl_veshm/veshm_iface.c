/* veshm interface: configuration, attributes, the DMA descriptor queue,
 * progress, flush and pending queue. See veshm_iface.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_iface.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucs/arch/atomic.h>
#include <ucs/arch/cpu.h>
#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/sys/string.h>
#include <ucs/sys/sys.h>
#include <ucs/time/time.h>

#include "veo_emu.h"
#include "veo_hmem.h"
#include "veo_vedma.h"
#include "veshm_ep.h"

/* Transfers the DMA engine takes at once: under 128 MiB, a multiple of 4. */
#define UCT_VESHM_DMA_MAX ((size_t)64 << 20)

static ucs_config_field_t uct_veshm_iface_config_table[] = {
    /* Interface memory (uct_iface_mem_alloc) is VE memory from this MD first. */
    {"", "ALLOC=md,huge,thp,mmap,heap", NULL, ucs_offsetof(uct_veshm_iface_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_iface_config_table)},

    {"BOUNCE_SIZE", "64m",
     "VE memory per interface for short and bcopy operations and for staging data\n"
     "of memory that VE DMA cannot reach directly (ordinary host memory).",
     ucs_offsetof(uct_veshm_iface_config_t, bounce_size), UCS_CONFIG_TYPE_MEMUNITS},

    {"MAX_SHORT", "2k", "Largest put_short.", ucs_offsetof(uct_veshm_iface_config_t, max_short),
     UCS_CONFIG_TYPE_MEMUNITS},

    {"MAX_BCOPY", "64k", "Largest put_bcopy and get_bcopy.",
     ucs_offsetof(uct_veshm_iface_config_t, max_bcopy), UCS_CONFIG_TYPE_MEMUNITS},

    {"SEG_SIZE", "1m", "Piece size for data staged through the bounce buffer.",
     ucs_offsetof(uct_veshm_iface_config_t, seg_size), UCS_CONFIG_TYPE_MEMUNITS},

    {"DMA_CHUNK", "128k",
     "Most bytes one VE DMA descriptor carries (at most 64m). Larger transfers are\n"
     "split; the pieces are copied in parallel by the DMA engine thread and by\n"
     "progress (or the call itself, for an operation of up to 4m that starts on an\n"
     "idle interface). Pieces of up to 64k are copied at post time.",
     ucs_offsetof(uct_veshm_iface_config_t, dma_chunk), UCS_CONFIG_TYPE_MEMUNITS},

    {"BW", "auto",
     "Bandwidth reported to UCX; 'auto' measures VE DMA when the first interface opens.",
     ucs_offsetof(uct_veshm_iface_config_t, bandwidth), UCS_CONFIG_TYPE_BW},

    {"LATENCY", "0",
     "Latency reported to UCX; 0 measures a small VE DMA when the first interface opens.",
     ucs_offsetof(uct_veshm_iface_config_t, latency), UCS_CONFIG_TYPE_TIME},

    {"PEER_CHECK", "1s",
     "How often (at most) data operations check that the peer process lives (flush\n"
     "checks every millisecond).",
     ucs_offsetof(uct_veshm_iface_config_t, peer_check), UCS_CONFIG_TYPE_TIME},

    {"SHORT_PIO", "y",
     "put_short as a CPU store through the host's view of the peer's area, which\n"
     "VE_REGISTER_PCI put into the PCI window (like a VH store into a VE's PCI BAR),\n"
     "instead of a VE DMA descriptor. A DMA post costs more than the whole store for\n"
     "the few bytes put_short carries; 'n' sends put_short as DMA too.",
     ucs_offsetof(uct_veshm_iface_config_t, short_pio), UCS_CONFIG_TYPE_BOOL},

    {NULL}};

uint64_t uct_veshm_dma_posts, uct_veshm_dma_bytes;

__attribute__((visibility("default"))) void uct_veshm_dma_stats(uint64_t *posts, uint64_t *bytes) {
    if (posts)
        *posts = __atomic_load_n(&uct_veshm_dma_posts, __ATOMIC_RELAXED);
    if (bytes)
        *bytes = __atomic_load_n(&uct_veshm_dma_bytes, __ATOMIC_RELAXED);
}

/* ---- bounce buffer ---- */

uint8_t *uct_veshm_bounce_alloc(uct_veshm_iface_t *iface, size_t length, unsigned mod4) {
    size_t size = iface->bounce.size;
    if (uct_veshm_iface_idle(iface)) {
        /* Nothing holds bounce space: start over at its beginning, which is
         * still in the cache (the ring is larger than the caches). */
        iface->bounce.tail = iface->bounce.head = 0;
    }
    uint64_t pos = iface->bounce.head;
    size_t off = pos % size;
    size_t pad = (mod4 - off) & 3;
    if (off + pad + length > size) {
        pos += size - off;
        off = 0;
        pad = mod4 & 3;
        if (pad + length > size)
            return NULL;
    }
    if (pos + pad + length - iface->bounce.tail > size)
        return NULL;
    iface->bounce.head = pos + pad + length;
    return iface->bounce.host + off + pad;
}

int uct_veshm_iface_can_start(uct_veshm_iface_t *iface, size_t bounce_need) {
    /* Nothing overtakes a request waiting in the pending queue: a fence
     * between them would be void otherwise. */
    if (uct_veshm_iface_behind_pending(iface))
        return 0;
    if (!ucs_queue_is_empty(&iface->post_queue))
        return 0;
    if (iface->desc_head - iface->desc_tail >= iface->desc_count)
        return 0;
    if (iface->fence_pending && iface->desc_head != iface->desc_tail)
        return 0;
    if (bounce_need == 0)
        return 1;
    uint64_t head = iface->bounce.head, tail = iface->bounce.tail;
    uint8_t *p = uct_veshm_bounce_alloc(iface, bounce_need, 0);
    iface->bounce.head = head;
    iface->bounce.tail = tail;
    return p != NULL;
}

/* ---- operations ---- */

uct_veshm_op_t *uct_veshm_op_get(uct_veshm_iface_t *iface) {
    uct_veshm_op_t *op = iface->free_ops;
    if (op != NULL)
        iface->free_ops = op->next_free;
    else if ((op = malloc(sizeof(*op))) == NULL)
        return NULL;
    op->comp = NULL;
    op->status = UCS_OK;
    op->is_get = 0;
    op->fenced = 0;
    op->in_bounce = 0;
    op->posted_all = 0;
    op->inflight = 0;
    op->posted_bytes = 0;
    op->iovcnt = op->iov_index = op->iov_offset = 0;
    op->unpack_cb = NULL;
    op->sync = 0;
    op->chunk = iface->config.dma_chunk;
    return op;
}

void uct_veshm_op_put(uct_veshm_iface_t *iface, uct_veshm_op_t *op) {
    op->next_free = iface->free_ops;
    iface->free_ops = op;
}

/* Where remote address addr is: VEHVA and host view in our VE process;
 * *len is cut to what is contiguous there. */
ucs_status_t uct_veshm_remote_at(const uct_veshm_rkey_t *rkey, uint64_t addr, size_t *len,
                                 uint64_t *vehva, uint8_t **host, int *writable) {
    const veshm_rkey_info_t *k = &rkey->info;
    if (addr < k->region_addr || addr - k->region_addr >= k->region_len)
        return UCS_ERR_INVALID_PARAM;
    uint64_t rel = k->region_hmem + (addr - k->region_addr) - k->area_hmem;
    uint64_t idx = rel / k->granule, off = rel % k->granule;
    size_t avail = ucs_min(k->region_len - (addr - k->region_addr), k->granule - off);
    *len = ucs_min(*len, avail);
    const uct_veshm_attach_t *e = rkey->areas[idx];
    *vehva = e->vehva + off;
    *host = e->host ? e->host + off : NULL;
    *writable = e->writable;
    return UCS_OK;
}

/* VEHVA of local memory at p if DMA reaches it; *len cut to the contiguous part. */
static int uct_veshm_local_at(uct_veshm_iface_t *iface, uct_veshm_op_t *op, uct_mem_h uct_memh,
                              uint8_t *p, size_t *len, uint64_t *vehva) {
    if (op->in_bounce) {
        *vehva = iface->bounce.vehva + (uint64_t)(p - iface->bounce.host);
        return 1;
    }
    uct_veshm_memh_t *memh = uct_memh;
    if (memh == NULL || p < (uint8_t *)memh->address ||
        p >= (uint8_t *)memh->address + memh->length)
        return 0;
    if (!memh->is_ve) {
        /* Host memory, registered for DMA as a whole. */
        uint64_t base = uct_veshm_memh_vh_vehva(memh);
        if (base == 0)
            return 0;
        *vehva = base + (uint64_t)(p - (uint8_t *)memh->address);
        return 1;
    }
    uint64_t g = uct_veshm_proc.granule;
    uint64_t rel = memh->hmem + (uint64_t)(p - (uint8_t *)memh->address) - memh->area_hmem;
    uct_veshm_attach_t *e = uct_veshm_memh_local(memh, (unsigned)(rel / g));
    if (e == NULL)
        return 0;
    *vehva = e->vehva + rel % g;
    *len = ucs_min(*len, g - rel % g);
    return 1;
}

/* Posts one descriptor: 1 posted, 0 no resources now, -1 failed. */
static int uct_veshm_post(uct_veshm_iface_t *iface, uct_veshm_op_t *op, uint64_t dst, uint64_t src,
                          size_t len, void *copy_dst, const void *copy_src) {
    if (iface->desc_head - iface->desc_tail >= iface->desc_count)
        return 0;
    uct_veshm_desc_t *d = &iface->descs[iface->desc_head & (iface->desc_count - 1)];
    int rc = veo_dma_post(iface->proc, dst, src, (int)len, &d->handle);
    if (rc == -EAGAIN)
        return 0;
    if (rc != 0) {
        ucs_debug("veshm: veo_dma_post(0x%lx, 0x%lx, %zu) failed: %d", (unsigned long)dst,
                  (unsigned long)src, len, rc);
        return -1;
    }
    d->op = op;
    d->bounce_end = iface->bounce.head;
    d->copy_dst = copy_dst;
    d->copy_src = copy_src;
    d->copy_len = copy_dst ? len : 0;
    d->handle.status = -EAGAIN; /* not yet seen complete */
    ++iface->desc_head;
    ++op->inflight;
    op->posted_bytes += len;
    ++iface->dma_posts;
    iface->dma_bytes += len;
    __atomic_fetch_add(&uct_veshm_dma_posts, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&uct_veshm_dma_bytes, len, __ATOMIC_RELAXED);
    return 1;
}

/* Moves the next piece of op: an edge through the host view, or one DMA
 * descriptor. Returns the bytes taken care of, 0 when out of resources. */
static size_t uct_veshm_op_piece(uct_veshm_iface_t *iface, uct_veshm_op_t *op, uct_mem_h memh,
                                 uint8_t *local, size_t len) {
    size_t n = len;
    uint64_t rvehva;
    uint8_t *rhost;
    int writable;
    ucs_status_t status = uct_veshm_remote_at(op->rkey, op->remote, &n, &rvehva, &rhost, &writable);
    if (status != UCS_OK) {
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
    int rc;
    if (uct_veshm_local_at(iface, op, memh, local, &ln, &lvehva) && (lvehva & 3) == 0 && ln >= 4) {
        body = ln & ~(size_t)3;
        rc = op->is_get ? uct_veshm_post(iface, op, lvehva, rvehva, body, NULL, NULL)
                        : uct_veshm_post(iface, op, rvehva, lvehva, body, NULL, NULL);
    } else {
        /* Staged through the bounce buffer. */
        body = ucs_min(body, iface->config.seg_size);
        uint64_t saved = iface->bounce.head, saved_tail = iface->bounce.tail;
        uint8_t *b = uct_veshm_bounce_alloc(iface, body, 0);
        if (b == NULL)
            return 0;
        uint64_t bvehva = iface->bounce.vehva + (uint64_t)(b - iface->bounce.host);
        if (op->is_get) {
            rc = uct_veshm_post(iface, op, bvehva, rvehva, body, local, b);
        } else {
            memcpy(b, local, body);
            rc = uct_veshm_post(iface, op, rvehva, bvehva, body, NULL, NULL);
        }
        if (rc == 0) {
            iface->bounce.head = saved;
            iface->bounce.tail = saved_tail;
        }
    }
    if (rc == 0)
        return 0;
    if (rc < 0)
        op->status = UCS_ERR_IO_ERROR;
    return body;
}

int uct_veshm_op_post(uct_veshm_iface_t *iface, uct_veshm_op_t *op) {
    if (op->fenced) {
        if (iface->desc_head != iface->desc_tail)
            return 0;
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
            iface, op, iov->memh, (uint8_t *)iov->buffer + op->iov_offset, total - op->iov_offset);
        if (done == 0)
            return 0;
        op->iov_offset += done;
        op->remote += done;
    }
    op->posted_all = 1;
    return 1;
}

int uct_veshm_op_try_complete(uct_veshm_iface_t *iface, uct_veshm_op_t *op) {
    if (!op->posted_all || op->inflight > 0 || op->sync)
        return 0;
    /* The data first: the bounce buffer it is in is free from now on. */
    if (op->unpack_cb != NULL && op->status == UCS_OK)
        op->unpack_cb(op->unpack_arg, op->unpack_buf, op->unpack_len);
    op->unpack_cb = NULL;
    if (iface->in_fence && op->comp != NULL) {
        /* Completion callbacks belong to progress, not to a fence call. */
        ucs_queue_push(&iface->done, &op->queue);
        return 1;
    }
    if (op->comp != NULL)
        uct_invoke_completion(op->comp, op->status);
    uct_veshm_op_put(iface, op);
    return 1;
}

/* Posts queued operations in order while resources allow. */
static unsigned uct_veshm_iface_post_queued(uct_veshm_iface_t *iface) {
    unsigned events = 0;
    while (!ucs_queue_is_empty(&iface->post_queue)) {
        uct_veshm_op_t *op =
            ucs_queue_head_elem_non_empty(&iface->post_queue, uct_veshm_op_t, queue);
        if (!uct_veshm_op_post(iface, op))
            break;
        ucs_queue_pull_non_empty(&iface->post_queue);
        events += uct_veshm_op_try_complete(iface, op);
    }
    return events;
}

/* Polls descriptors in flight; a poll of one the engine has not started yet
 * copies it here, so progress and the DMA engine share the work. Newest
 * first: the engine takes the oldest, so the two work from opposite ends. */
unsigned uct_veshm_iface_reap(uct_veshm_iface_t *iface) {
    unsigned events = 0, polled = 0;
    uint64_t mask = iface->desc_count - 1;
    for (uint64_t i = iface->desc_head; i != iface->desc_tail && polled < 16;) {
        uct_veshm_desc_t *d = &iface->descs[--i & mask];
        if (d->handle.status != -EAGAIN)
            continue;
        ++polled;
        int rc = veo_dma_poll(iface->proc, &d->handle);
        if (rc == -EAGAIN)
            continue;
        d->handle.status = rc;
    }
    while (iface->desc_tail != iface->desc_head) {
        uct_veshm_desc_t *d = &iface->descs[iface->desc_tail & mask];
        if (d->handle.status == -EAGAIN)
            break;
        int rc = d->handle.status;
        if (rc == 0 && d->copy_len > 0)
            memcpy(d->copy_dst, d->copy_src, d->copy_len);
        if (d->bounce_end > iface->bounce.tail)
            iface->bounce.tail = d->bounce_end;
        ++iface->desc_tail;
        uct_veshm_op_t *op = d->op;
        if (rc != 0) {
            ucs_debug("veshm: DMA failed with exception 0x%x", rc);
            op->status = UCS_ERR_IO_ERROR;
        }
        --op->inflight;
        uct_veshm_op_try_complete(iface, op);
        ++events;
    }
    return events;
}

unsigned uct_veshm_iface_progress(uct_iface_h tl_iface) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    unsigned events = 0;
    while (!ucs_queue_is_empty(&iface->done)) {
        uct_veshm_op_t *op = ucs_queue_pull_elem_non_empty(&iface->done, uct_veshm_op_t, queue);
        uct_invoke_completion(op->comp, op->status);
        uct_veshm_op_put(iface, op);
        ++events;
    }
    events += uct_veshm_iface_reap(iface);
    events += uct_veshm_iface_post_queued(iface);
    if (iface->fence_pending && !uct_veshm_iface_moving(iface))
        iface->fence_pending = 0;

    iface->dispatching = 1;
    while (!ucs_queue_is_empty(&iface->pending) &&
           uct_veshm_iface_can_start(iface, iface->config.max_bcopy + 8)) {
        ucs_queue_elem_t *elem = ucs_queue_pull_non_empty(&iface->pending);
        uct_veshm_pending_priv_t *priv = ucs_container_of(elem, uct_veshm_pending_priv_t, queue);
        uct_pending_req_t *req = ucs_container_of((void *)priv, uct_pending_req_t, priv);
        int fence_after = priv->fence_after;
        ucs_status_t status = req->func(req);
        if (status == UCS_OK) {
            /* req may be released already. */
            if (fence_after)
                uct_veshm_iface_fence_moving(iface);
            ++events;
            continue;
        }
        /* UCS_INPROGRESS: it started part of its work and stays first;
         * anything else: it could not start, try again later. */
        ucs_queue_push_head(&iface->pending, elem);
        if (status != UCS_INPROGRESS)
            break;
        ++events;
    }
    iface->dispatching = 0;

    if (uct_veshm_iface_idle(iface)) {
        while (!ucs_queue_is_empty(&iface->flushes)) {
            uct_veshm_flush_t *f =
                ucs_queue_pull_elem_non_empty(&iface->flushes, uct_veshm_flush_t, queue);
            uct_invoke_completion(f->comp, UCS_OK);
            free(f);
            ++events;
        }
    }
    return events;
}

/* ---- interface ---- */

static ucs_status_t uct_veshm_iface_flush(uct_iface_h tl_iface, unsigned flags,
                                          uct_completion_t *comp) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    if (comp != NULL)
        return UCS_ERR_UNSUPPORTED;
    if (uct_veshm_iface_idle(iface)) {
        UCT_TL_IFACE_STAT_FLUSH(&iface->super);
        return UCS_OK;
    }
    UCT_TL_IFACE_STAT_FLUSH_WAIT(&iface->super);
    return UCS_INPROGRESS;
}

void uct_veshm_iface_add_fence(uct_veshm_iface_t *iface) {
    if (!ucs_queue_is_empty(&iface->pending)) {
        /* Requests still pending are before the fence: it starts to count
         * when the last of them has started. */
        ucs_queue_tail_elem_non_empty(&iface->pending, uct_veshm_pending_priv_t, queue)
            ->fence_after = 1;
    } else {
        uct_veshm_iface_fence_moving(iface);
    }
    ucs_memory_cpu_fence();
}

static ucs_status_t uct_veshm_iface_fence(uct_iface_h tl_iface, unsigned flags) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    /* ucp_worker_fence fences every interface on its own, and the operation
     * after it often goes elsewhere: osc/ucx completes MPI_Rput with an
     * atomic that UCP may emulate over another transport's active messages.
     * So what has started here finishes now (completion callbacks are left
     * to progress); requests still pending keep their place before the
     * fence. */
    iface->in_fence = 1;
    while (uct_veshm_iface_moving(iface)) {
        uct_veshm_iface_reap(iface);
        uct_veshm_iface_post_queued(iface);
    }
    iface->in_fence = 0;
    uct_veshm_iface_add_fence(iface);
    UCT_TL_IFACE_STAT_FENCE(&iface->super);
    return UCS_OK;
}

static ucs_status_t uct_veshm_iface_get_device_address(uct_iface_h tl_iface,
                                                       uct_device_addr_t *addr) {
    const uct_veshm_scope_t *self = uct_veshm_scope();
    if (self == NULL)
        return UCS_ERR_UNSUPPORTED;
    memcpy(addr, self, sizeof(*self));
    return UCS_OK;
}

static ucs_status_t uct_veshm_iface_get_address(uct_iface_h tl_iface, uct_iface_addr_t *addr) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    uct_veshm_iface_addr_t *a = (uct_veshm_iface_addr_t *)addr;
    a->vh_pid = (int32_t)getpid();
    a->node = iface->node;
    return UCS_OK;
}

static int uct_veshm_iface_is_reachable(const uct_iface_h tl_iface,
                                        const uct_device_addr_t *dev_addr,
                                        const uct_iface_addr_t *iface_addr) {
    /* Same kernel, PID and network namespace, same user: exactly where a
     * VESHM attach can succeed (another user's owner refuses it). */
    return uct_veshm_scope_reaches((const uct_veshm_scope_t *)dev_addr);
}

static ucs_status_t uct_veshm_iface_query(uct_iface_h tl_iface, uct_iface_attr_t *attr) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);

    uct_base_iface_query(&iface->super, attr);
    attr->cap.put.max_short = iface->config.max_short;
    attr->cap.put.max_bcopy = iface->config.max_bcopy;
    attr->cap.put.min_zcopy = 0;
    attr->cap.put.max_zcopy = SIZE_MAX;
    attr->cap.put.opt_zcopy_align = 4;
    attr->cap.put.align_mtu = 4;
    attr->cap.put.max_iov = UCT_VESHM_MAX_IOV;
    attr->cap.get.max_short = 0;
    attr->cap.get.max_bcopy = iface->config.max_bcopy;
    attr->cap.get.min_zcopy = 0;
    attr->cap.get.max_zcopy = SIZE_MAX;
    attr->cap.get.opt_zcopy_align = 4;
    attr->cap.get.align_mtu = 4;
    attr->cap.get.max_iov = UCT_VESHM_MAX_IOV;

    attr->device_addr_len = sizeof(uct_veshm_device_addr_t);
    attr->iface_addr_len = sizeof(uct_veshm_iface_addr_t);
    attr->ep_addr_len = 0;
    attr->max_conn_priv = 0;
    attr->cap.flags = UCT_IFACE_FLAG_PUT_SHORT | UCT_IFACE_FLAG_PUT_BCOPY |
                      UCT_IFACE_FLAG_PUT_ZCOPY | UCT_IFACE_FLAG_GET_BCOPY |
                      UCT_IFACE_FLAG_GET_ZCOPY | UCT_IFACE_FLAG_ATOMIC_CPU |
                      UCT_IFACE_FLAG_PENDING | UCT_IFACE_FLAG_CONNECT_TO_IFACE |
                      UCT_IFACE_FLAG_ERRHANDLE_PEER_FAILURE | UCT_IFACE_FLAG_EP_CHECK;
    attr->cap.event_flags = 0;

    uint64_t ops = UCS_BIT(UCT_ATOMIC_OP_ADD) | UCS_BIT(UCT_ATOMIC_OP_AND) |
                   UCS_BIT(UCT_ATOMIC_OP_OR) | UCS_BIT(UCT_ATOMIC_OP_XOR);
    uint64_t fops = ops | UCS_BIT(UCT_ATOMIC_OP_SWAP) | UCS_BIT(UCT_ATOMIC_OP_CSWAP);
    attr->cap.atomic32.op_flags = attr->cap.atomic64.op_flags = ops;
    attr->cap.atomic32.fop_flags = attr->cap.atomic64.fop_flags = fops;

    attr->latency = ucs_linear_func_make(iface->config.latency, 0);
    attr->bandwidth.dedicated = iface->config.bandwidth;
    attr->bandwidth.shared = 0;
    attr->overhead = iface->config.overhead;
    attr->priority = 0;
    return UCS_OK;
}

/* Performance of VE DMA on this machine, measured with an interface's bounce
 * buffer: a small transfer (post + poll) and large ones, posted as the data
 * path posts them. UCP chooses lanes on both sides of a connection from both
 * sides' figures, and aborts when the two choices differ, so every process of
 * a host must report the same figures: the first process to open an
 * interface measures and records the result for the host (per user and boot),
 * the others read it. */
static struct {
    int done;
    double latency, overhead, bandwidth;
} uct_veshm_measured;

static void uct_veshm_measure_now(uct_veshm_iface_t *iface) {
    const size_t big = ucs_min(iface->bounce.size / 4, (size_t)8 << 20);
    const size_t chunk = ucs_min(iface->config.dma_chunk, big);
    uint64_t src = iface->bounce.vehva, dst = iface->bounce.vehva + iface->bounce.size / 2;
    ve_dma_handle_t h[64];
    int n;

    memset(iface->bounce.host, 1, big);
    memset(iface->bounce.host + iface->bounce.size / 2, 2, big);
    ucs_time_t best_small = UCS_TIME_INFINITY, best_big = UCS_TIME_INFINITY;
    for (int i = 0; i < 300; ++i) {
        ucs_time_t t0 = ucs_get_time();
        if (veo_dma_post(iface->proc, dst, src, 8, &h[0]) != 0)
            break;
        while (veo_dma_poll(iface->proc, &h[0]) == -EAGAIN)
            ;
        ucs_time_t t = ucs_get_time() - t0;
        if (i >= 20 && t < best_small)
            best_small = t;
    }
    for (int i = 0; i < 6; ++i) {
        ucs_time_t t0 = ucs_get_time();
        n = 0;
        for (size_t off = 0; off < big && n < 64; off += chunk, ++n)
            while (veo_dma_post(iface->proc, dst + off, src + off, (int)ucs_min(chunk, big - off),
                                &h[n]) == -EAGAIN)
                ;
        for (int j = n - 1; j >= 0; --j)
            while (veo_dma_poll(iface->proc, &h[j]) == -EAGAIN)
                ;
        ucs_time_t t = ucs_get_time() - t0;
        if (i >= 1 && t < best_big)
            best_big = t;
    }
    double lat = (best_small == UCS_TIME_INFINITY) ? 1e-6 : ucs_time_to_sec(best_small);
    double bw = (best_big == UCS_TIME_INFINITY) ? 1e9 : big / ucs_time_to_sec(best_big);
    uct_veshm_measured.latency = lat;
    uct_veshm_measured.overhead = lat / 2;
    uct_veshm_measured.bandwidth = bw;
    uct_veshm_measured.done = 1;
    ucs_debug("veshm: measured VE DMA: %.0f ns per small transfer, %.0f MB/s", lat * 1e9, bw / 1e6);
}

/* The host's record: $XDG_RUNTIME_DIR or /tmp, per user and boot. */
static int uct_veshm_perf_file(char *path, size_t len) {
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f != NULL) {
        if (fgets(boot, sizeof(boot), f) == NULL)
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\n-")] = '\0';
    const char *dir = getenv("XDG_RUNTIME_DIR");
    if (dir == NULL || access(dir, W_OK) != 0)
        dir = "/tmp";
    return snprintf(path, len, "%s/veshm-ucx-perf-v1-%u-%s", dir, (unsigned)getuid(), boot) <
           (int)len;
}

static void uct_veshm_measure(uct_veshm_iface_t *iface) {
    char path[PATH_MAX], text[256];
    if (uct_veshm_measured.done)
        return;
    int fd = uct_veshm_perf_file(path, sizeof(path))
                 ? open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)
                 : -1;
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_uid != getuid() || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        double lat, ovh, bw;
        if (n > 0) {
            text[n] = '\0';
            if (sscanf(text, "%lf %lf %lf", &lat, &ovh, &bw) == 3 && lat > 0 && ovh > 0 && bw > 0) {
                uct_veshm_measured.latency = lat;
                uct_veshm_measured.overhead = ovh;
                uct_veshm_measured.bandwidth = bw;
                uct_veshm_measured.done = 1;
            }
        }
        if (!uct_veshm_measured.done) {
            uct_veshm_measure_now(iface);
            int m = snprintf(text, sizeof(text), "%.3e %.3e %.3e\n", uct_veshm_measured.latency,
                             uct_veshm_measured.overhead, uct_veshm_measured.bandwidth);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)m, 0) != m)
                ucs_debug("veshm: cannot record the measurement in %s: %m", path);
            /* What others will read, exactly. */
            sscanf(text, "%lf %lf %lf", &uct_veshm_measured.latency, &uct_veshm_measured.overhead,
                   &uct_veshm_measured.bandwidth);
        }
        flock(fd, LOCK_UN);
    } else {
        uct_veshm_measure_now(iface);
    }
    if (fd >= 0)
        close(fd);
}

static UCS_CLASS_DECLARE_DELETE_FUNC(uct_veshm_iface_t, uct_iface_t);

static uct_iface_ops_t uct_veshm_iface_tl_ops = {
    .ep_put_short = uct_veshm_ep_put_short,
    .ep_put_bcopy = uct_veshm_ep_put_bcopy,
    .ep_put_zcopy = uct_veshm_ep_put_zcopy,
    .ep_get_bcopy = uct_veshm_ep_get_bcopy,
    .ep_get_zcopy = uct_veshm_ep_get_zcopy,
    .ep_atomic_cswap64 = uct_veshm_ep_atomic_cswap64,
    .ep_atomic_cswap32 = uct_veshm_ep_atomic_cswap32,
    .ep_atomic64_post = uct_veshm_ep_atomic64_post,
    .ep_atomic32_post = uct_veshm_ep_atomic32_post,
    .ep_atomic64_fetch = uct_veshm_ep_atomic64_fetch,
    .ep_atomic32_fetch = uct_veshm_ep_atomic32_fetch,
    .ep_pending_add = uct_veshm_ep_pending_add,
    .ep_pending_purge = uct_veshm_ep_pending_purge,
    .ep_flush = uct_veshm_ep_flush,
    .ep_fence = uct_veshm_ep_fence,
    .ep_check = uct_veshm_ep_check,
    .ep_create = UCS_CLASS_NEW_FUNC_NAME(uct_veshm_ep_t),
    .ep_destroy = UCS_CLASS_DELETE_FUNC_NAME(uct_veshm_ep_t),
    .iface_flush = uct_veshm_iface_flush,
    .iface_fence = uct_veshm_iface_fence,
    .iface_progress_enable = uct_base_iface_progress_enable,
    .iface_progress_disable = uct_base_iface_progress_disable,
    .iface_progress = uct_veshm_iface_progress,
    .iface_event_fd_get = (uct_iface_event_fd_get_func_t)ucs_empty_function_return_unsupported,
    .iface_event_arm = (uct_iface_event_arm_func_t)ucs_empty_function_return_unsupported,
    .iface_close = UCS_CLASS_DELETE_FUNC_NAME(uct_veshm_iface_t),
    .iface_query = uct_veshm_iface_query,
    .iface_get_device_address = uct_veshm_iface_get_device_address,
    .iface_get_address = uct_veshm_iface_get_address,
    .iface_is_reachable = uct_veshm_iface_is_reachable,
};

static uct_iface_internal_ops_t uct_veshm_iface_internal_ops = {
    .iface_estimate_perf = uct_base_iface_estimate_perf,
    .iface_vfs_refresh = (uct_iface_vfs_refresh_func_t)ucs_empty_function,
    .ep_query = (uct_ep_query_func_t)ucs_empty_function_return_unsupported,
    .ep_invalidate = (uct_ep_invalidate_func_t)ucs_empty_function_return_unsupported,
};

static UCS_CLASS_INIT_FUNC(uct_veshm_iface_t, uct_md_h md, uct_worker_h worker,
                           const uct_iface_params_t *params, const uct_iface_config_t *tl_config) {
    const uct_veshm_iface_config_t *config = ucs_derived_of(tl_config, uct_veshm_iface_config_t);
    uct_veshm_md_t *vmd = ucs_derived_of(md, uct_veshm_md_t);
    struct veo_emu_node_info info;

    UCT_CHECK_PARAM(params->field_mask & UCT_IFACE_PARAM_FIELD_OPEN_MODE,
                    "UCT_IFACE_PARAM_FIELD_OPEN_MODE is not defined");
    if (!(params->open_mode & UCT_IFACE_OPEN_MODE_DEVICE)) {
        ucs_error("veshm: only UCT_IFACE_OPEN_MODE_DEVICE is supported");
        return UCS_ERR_UNSUPPORTED;
    }
    UCS_CLASS_CALL_SUPER_INIT(
        uct_base_iface_t, &uct_veshm_iface_tl_ops, &uct_veshm_iface_internal_ops, md, worker,
        params,
        tl_config UCS_STATS_ARG(
            (params->field_mask & UCT_IFACE_PARAM_FIELD_STATS_ROOT) ? params->stats_root : NULL)
            UCS_STATS_ARG(UCT_VESHM_TL_NAME));

    /* UCS classes are not zeroed: start from a clean state after super. */
    memset((char *)self + sizeof(self->super), 0, sizeof(*self) - sizeof(self->super));
    self->proc = uct_veshm_proc.handle;
    self->node = vmd->node;
    if (veo_emu_get_node_info(self->node, &info) != 0)
        return UCS_ERR_NO_DEVICE;
    uint64_t g = uct_veshm_proc.granule;
    self->config.max_short = config->max_short;
    self->config.max_bcopy = ucs_max(config->max_bcopy, 64);
    self->config.seg_size = ucs_align_up(ucs_max(config->seg_size, 4096), 4);
    self->config.dma_chunk =
        ucs_align_down(ucs_min(ucs_max(config->dma_chunk, 4096), UCT_VESHM_DMA_MAX), 4);
    self->config.peer_check = ucs_time_from_sec(config->peer_check);
    self->config.short_pio = config->short_pio;
    self->bounce.size = ucs_align_up(
        ucs_max(config->bounce_size, 2 * (self->config.seg_size + self->config.max_bcopy)), g);

    unsigned n = 1;
    while (n < info.dma_descriptors && n < 4096)
        n <<= 1;
    self->desc_count = n;
    self->descs = calloc(n, sizeof(*self->descs));
    if (self->descs == NULL)
        return UCS_ERR_NO_MEMORY;
    ucs_queue_head_init(&self->post_queue);
    ucs_queue_head_init(&self->pending);
    ucs_queue_head_init(&self->flushes);
    ucs_queue_head_init(&self->done);
    ucs_list_head_init(&self->eps);

    if (veo_posix_memalign_hmem(self->proc, &self->bounce.hmem, g, self->bounce.size) != 0) {
        ucs_error("veshm: cannot allocate %zu bytes of VE memory for the bounce buffer",
                  self->bounce.size);
        free(self->descs);
        return UCS_ERR_NO_MEMORY;
    }
    self->bounce.host = veo_emu_hmem_to_vh(self->bounce.hmem);
    self->bounce.vehva = veo_register_mem_to_dmaatb(self->bounce.hmem, self->bounce.size);
    if (self->bounce.host == NULL || self->bounce.vehva == (uint64_t)-1) {
        ucs_error("veshm: cannot map the bounce buffer for DMA: %m");
        veo_free_hmem(self->bounce.hmem);
        free(self->descs);
        return UCS_ERR_NO_MEMORY;
    }

    uct_veshm_measure(self);
    self->config.bandwidth =
        UCS_CONFIG_BW_IS_AUTO(config->bandwidth) ? uct_veshm_measured.bandwidth : config->bandwidth;
    self->config.latency = (config->latency > 0) ? config->latency : uct_veshm_measured.latency;
    self->config.overhead = uct_veshm_measured.overhead;
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_veshm_iface_t) {
    uct_base_iface_progress_disable(&self->super.super, UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
    /* Wait for descriptors still in flight: they may target the bounce buffer. */
    while (!uct_veshm_iface_idle(self))
        uct_veshm_iface_progress(&self->super.super);
    while (self->free_ops != NULL) {
        uct_veshm_op_t *op = self->free_ops;
        self->free_ops = op->next_free;
        free(op);
    }
    veo_unregister_mem_from_dmaatb(self->proc, self->bounce.vehva);
    veo_free_hmem(self->bounce.hmem);
    free(self->descs);
}

UCS_CLASS_DEFINE(uct_veshm_iface_t, uct_base_iface_t);
static UCS_CLASS_DEFINE_NEW_FUNC(uct_veshm_iface_t, uct_iface_t, uct_md_h, uct_worker_h,
                                 const uct_iface_params_t *, const uct_iface_config_t *);
static UCS_CLASS_DEFINE_DELETE_FUNC(uct_veshm_iface_t, uct_iface_t);

static ucs_status_t uct_veshm_query_devices(uct_md_h md, uct_tl_device_resource_t **devices_p,
                                            unsigned *num_devices_p) {
    uct_veshm_md_t *vmd = ucs_derived_of(md, uct_veshm_md_t);
    char name[UCT_DEVICE_NAME_MAX];
    ucs_snprintf_zero(name, sizeof(name), "ve%d", vmd->node);
    return uct_single_device_resource(md, name, UCT_DEVICE_TYPE_SHM, UCS_SYS_DEVICE_ID_UNKNOWN,
                                      devices_p, num_devices_p);
}

UCT_TL_DEFINE_ENTRY(&uct_veshm_component, veshm, uct_veshm_query_devices, uct_veshm_iface_t,
                    "VESHM_", uct_veshm_iface_config_table, uct_veshm_iface_config_t);

UCT_SINGLE_TL_INIT(&uct_veshm_component, veshm, ctor, , )
