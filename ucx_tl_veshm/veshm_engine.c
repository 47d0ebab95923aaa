/* The operation engine's life cycle, fences, flushes and pending queue: see
 * veshm_op.h (operations and progress are in veshm_op.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/arch/cpu.h>
#include <ucs/debug/log.h>
#include <uct/base/uct_iface.h>

#include "ve_offload.h"
#include "veo_veshm.h"
#include "veshm_op_int.h"
#include "veshm_platform.h"

void uct_veshm_engine_fence(uct_veshm_engine_t *eng, int finish) {
    if (finish) {
        eng->in_fence = 1;
        while (uct_veshm_engine_moving(eng)) {
            uct_veshm_engine_reap(eng);
            uct_veshm_engine_post_queued(eng);
        }
        eng->in_fence = 0;
    }
    if (!ucs_queue_is_empty(&eng->pending)) {
        /* Requests still pending are before the fence: it starts to count
         * when the last of them has started. */
        ucs_queue_tail_elem_non_empty(&eng->pending, uct_veshm_pending_priv_t, queue)->fence_after =
            1;
    } else {
        uct_veshm_engine_fence_moving(eng);
    }
    ucs_memory_cpu_fence();
}

ucs_status_t uct_veshm_engine_flush(uct_veshm_engine_t *eng, uct_completion_t *comp) {
    if (!ucs_queue_is_empty(&eng->pending))
        return UCS_ERR_NO_RESOURCE;
    if (uct_veshm_engine_is_idle(eng))
        return UCS_OK;
    if (comp != NULL) {
        uct_veshm_flush_t *f = malloc(sizeof(*f));
        if (f == NULL)
            return UCS_ERR_NO_MEMORY;
        f->comp = comp;
        ucs_queue_push(&eng->flushes, &f->queue);
    }
    return UCS_INPROGRESS;
}

ucs_status_t uct_veshm_engine_pending_add(uct_veshm_engine_t *eng, struct uct_veshm_ep *ep,
                                          uct_pending_req_t *req) {
    UCS_STATIC_ASSERT(sizeof(uct_veshm_pending_priv_t) <= UCT_PENDING_REQ_PRIV_LEN);
    if (ucs_queue_is_empty(&eng->pending) &&
        uct_veshm_engine_can_start_with(eng, eng->config.max_bcopy + 8))
        return UCS_ERR_BUSY;
    return uct_veshm_engine_pending_push(eng, ep, req);
}

ucs_status_t uct_veshm_engine_pending_push(uct_veshm_engine_t *eng, struct uct_veshm_ep *ep,
                                           uct_pending_req_t *req) {
    uct_veshm_pending_priv_t *priv = (uct_veshm_pending_priv_t *)req->priv;
    priv->ep = ep;
    priv->fence_after = 0;
    ucs_queue_push(&eng->pending, &priv->queue);
    uct_veshm_engine_rehold(eng);
    return UCS_OK;
}

void uct_veshm_engine_pending_purge(uct_veshm_engine_t *eng, struct uct_veshm_ep *ep,
                                    uct_pending_purge_callback_t cb, void *arg) {
    ucs_queue_iter_t iter;
    uct_veshm_pending_priv_t *priv, *kept = NULL;
    ucs_queue_for_each_safe(priv, iter, &eng->pending, queue) {
        if (priv->ep != ep) {
            kept = priv;
            continue;
        }
        ucs_queue_del_iter(&eng->pending, iter);
        if (priv->fence_after) {
            /* The fence stays behind what is left before it. */
            if (kept != NULL)
                kept->fence_after = 1;
            else
                uct_veshm_engine_fence_moving(eng);
        }
        if (cb != NULL)
            cb(ucs_container_of((void *)priv, uct_pending_req_t, priv), arg);
    }
    uct_veshm_engine_rehold(eng);
}

/* ---- life cycle ---- */

static ucs_mpool_ops_t uct_veshm_op_mpool_ops = {
    .chunk_alloc = ucs_mpool_chunk_malloc,
    .chunk_release = ucs_mpool_chunk_free,
    .obj_init = NULL,
    .obj_cleanup = NULL,
    .obj_str = NULL,
};

ucs_status_t uct_veshm_engine_init(uct_veshm_engine_t *eng, struct veo_proc_handle *proc,
                                   const uct_veshm_engine_config_t *config) {
    memset(eng, 0, sizeof(*eng));
    eng->proc = proc;
    eng->config = *config;
    unsigned n = 1;
    while (n < config->descriptors && n < 4096)
        n <<= 1;
    eng->desc_count = n;
    eng->descs = calloc(n, sizeof(*eng->descs));
    if (eng->descs == NULL)
        return UCS_ERR_NO_MEMORY;
    ucs_queue_head_init(&eng->post_queue);
    ucs_queue_head_init(&eng->pending);
    ucs_queue_head_init(&eng->flushes);
    ucs_queue_head_init(&eng->done);
    ucs_status_t status =
        ucs_mpool_init(&eng->ops, 0, sizeof(uct_veshm_op_t), 0, UCS_SYS_CACHE_LINE_SIZE, 16,
                       UINT_MAX, &uct_veshm_op_mpool_ops, "veshm_ops");
    if (status != UCS_OK)
        goto err_descs;

    uct_veshm_bounce_t *b = &eng->bounce;
    b->size = config->bounce_size;
    if (veo_posix_memalign_hmem(proc, &b->hmem, config->granule, b->size) != 0) {
        ucs_error("veshm: cannot allocate %zu bytes of VE memory for the bounce buffer", b->size);
        status = UCS_ERR_NO_MEMORY;
        goto err_mpool;
    }
    b->host = uct_veshm_platform_hmem_to_vh(b->hmem);
    b->vehva = veo_register_mem_to_dmaatb(b->hmem, b->size);
    if (b->host == NULL || b->vehva == (uint64_t)-1) {
        ucs_error("veshm: cannot map the bounce buffer for DMA: %m");
        veo_free_hmem(b->hmem);
        status = UCS_ERR_NO_MEMORY;
        goto err_mpool;
    }
    return UCS_OK;

err_mpool:
    ucs_mpool_cleanup(&eng->ops, 0);
err_descs:
    free(eng->descs);
    return status;
}

void uct_veshm_engine_cleanup(uct_veshm_engine_t *eng) {
    /* Wait for descriptors still in flight: they may target the bounce ring. */
    while (!uct_veshm_engine_is_idle(eng))
        uct_veshm_engine_progress(eng);
    uct_veshm_engine_set_hold(eng, 0);
    ucs_mpool_cleanup(&eng->ops, 1);
    veo_unregister_mem_from_dmaatb(eng->proc, eng->bounce.vehva);
    veo_free_hmem(eng->bounce.hmem);
    free(eng->descs);
}

void uct_veshm_engine_perf_buffer(uct_veshm_engine_t *eng, uct_veshm_perf_buffer_t *buf) {
    ucs_assert(!uct_veshm_engine_moving(eng));
    buf->proc = eng->proc;
    buf->vehva = eng->bounce.vehva;
    buf->host = eng->bounce.host;
    buf->size = eng->bounce.size;
    buf->chunk = eng->config.dma_chunk;
}
