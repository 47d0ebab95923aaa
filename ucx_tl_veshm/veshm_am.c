/* Active messages over VESHM: see veshm_am.h and veshm_fifo.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_am.h"

#include <stdlib.h>
#include <string.h>

#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/sys/sys.h>
#include <uct/base/uct_iov.inl>

#include "ve_offload.h"
#include "veo_hmem.h"
#include "veshm_ep.h"
#include "veshm_fifo.h"
#include "veshm_op_int.h"
#include "veshm_platform.h"
#include "veshm_proc.h"

_Static_assert(sizeof(uct_veshm_fifo_elem_t) == UCT_VESHM_FIFO_ELEM_SIZE, "element size");
_Static_assert(offsetof(uct_veshm_fifo_elem_t, inline_data) == UCT_VESHM_FIFO_ELEM_HEADER,
               "inline data");

/* Messages one progress call delivers at most: the others wait their turn. */
#define UCT_VESHM_AM_POLL_MAX 16

/* In front of data a handler keeps: the release descriptor UCX finds at
 * desc - sizeof(void *) (uct_recv_desc), and for a host copy its block and
 * its length. */
#define UCT_VESHM_AM_DESC_ROOM (3 * sizeof(void *))

/* Active messages this process sent (all interfaces): the proof that veshm
 * carried two-sided traffic (tests/mpi/mpi_two_sided.c). */
static uint64_t uct_veshm_am_sent_msgs, uct_veshm_am_sent_bytes;

__attribute__((visibility("default"))) void uct_veshm_am_stats(uint64_t *msgs, uint64_t *bytes) {
    if (msgs)
        *msgs = __atomic_load_n(&uct_veshm_am_sent_msgs, __ATOMIC_RELAXED);
    if (bytes)
        *bytes = __atomic_load_n(&uct_veshm_am_sent_bytes, __ATOMIC_RELAXED);
}

static inline void uct_veshm_am_count(size_t length) {
    __atomic_fetch_add(&uct_veshm_am_sent_msgs, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&uct_veshm_am_sent_bytes, length, __ATOMIC_RELAXED);
}

/* ---- receiver ---- */

static size_t uct_veshm_am_data_in(size_t room, size_t align, size_t align_offset) {
    return ucs_align_up(room + align_offset, align) - align_offset;
}

static void uct_veshm_am_release_ve(uct_recv_desc_t *self, void *desc) {
    uct_veshm_am_rx_t *rx = ucs_container_of(self, uct_veshm_am_rx_t, release_ve);
    size_t off = (size_t)((uint8_t *)desc + rx->rx_headroom - rx->area) - rx->data_in_buf;
    ucs_assert(off >= rx->buf_base && (off - rx->buf_base) % rx->buf_stride == 0);
    rx->spare[rx->nspare++] = (uint32_t)((off - rx->buf_base) / rx->buf_stride);
}

/* Host copies of more than this come from the rx's cache of blocks of the
 * largest size; smaller ones from malloc. */
#define UCT_VESHM_AM_HOST_CACHED (64ul << 10)

static size_t uct_veshm_am_host_in(const uct_veshm_am_rx_t *rx) {
    return uct_veshm_am_data_in(UCT_VESHM_AM_DESC_ROOM + rx->rx_headroom, rx->align,
                                rx->align_offset);
}

static void *uct_veshm_am_host_get(uct_veshm_am_rx_t *rx, size_t length) {
    if (length > UCT_VESHM_AM_HOST_CACHED && rx->host_nfree > 0)
        return rx->host_free[--rx->host_nfree];
    size_t size =
        uct_veshm_am_host_in(rx) + ((length > UCT_VESHM_AM_HOST_CACHED) ? rx->seg_size : length);
    void *block = NULL;
    if (posix_memalign(&block, ucs_max(rx->align, sizeof(void *)), size) != 0)
        return NULL;
    return block;
}

static void uct_veshm_am_host_put(uct_veshm_am_rx_t *rx, void *block, size_t length) {
    if (length > UCT_VESHM_AM_HOST_CACHED && rx->host_nfree < ucs_static_array_size(rx->host_free))
        rx->host_free[rx->host_nfree++] = block;
    else
        free(block);
}

static void uct_veshm_am_release_host(uct_recv_desc_t *self, void *desc) {
    uct_veshm_am_rx_t *rx = ucs_container_of(self, uct_veshm_am_rx_t, release_host);
    void **room = (void **)desc;
    uct_veshm_am_host_put(rx, room[-2], (size_t)(uintptr_t)room[-3]);
}

ucs_status_t uct_veshm_am_rx_init(uct_veshm_am_rx_t *rx, const uct_iface_params_t *params,
                                  const uct_veshm_am_config_t *config) {
    memset(rx, 0, sizeof(*rx));
    if (!ucs_is_pow2(config->fifo_elems) || config->fifo_elems < 2) {
        ucs_error("veshm: AM_FIFO_SIZE %u is not a power of two >= 2", config->fifo_elems);
        return UCS_ERR_INVALID_PARAM;
    }
    rx->seg_size = ucs_max(config->seg_size, 64);
    rx->rx_headroom = UCT_IFACE_PARAM_VALUE(params, rx_headroom, RX_HEADROOM, 0);
    ucs_status_t status =
        uct_iface_param_am_alignment(params, rx->seg_size, 0, 0, &rx->align, &rx->align_offset);
    if (status != UCS_OK)
        return status;
    if (!ucs_is_pow2(rx->align) || rx->align > uct_veshm_proc.granule / 64) {
        ucs_error("veshm: invalid AM alignment %zu (a power of two up to %lu)", rx->align,
                  (unsigned long)(uct_veshm_proc.granule / 64));
        return UCS_ERR_INVALID_PARAM;
    }
    /* Inline data sits at a fixed place in the element: only where no
     * alignment was asked for. */
    rx->inline_max = (params->field_mask & UCT_IFACE_PARAM_FIELD_AM_ALIGNMENT)
                         ? 0
                         : ucs_min(UCT_VESHM_FIFO_INLINE_MAX, rx->seg_size);
    rx->elems = config->fifo_elems;
    rx->mask = rx->elems - 1;
    rx->size = uct_veshm_proc.granule;
    size_t line = ucs_max(rx->align, UCT_VESHM_FIFO_LINE);
    rx->data_in_buf =
        uct_veshm_am_data_in(sizeof(void *) + rx->rx_headroom, rx->align, rx->align_offset);
    rx->buf_stride = ucs_align_up(rx->data_in_buf + rx->seg_size, line);
    rx->buf_base = ucs_align_up(
        sizeof(uct_veshm_fifo_ctl_t) + (size_t)rx->elems * sizeof(uct_veshm_fifo_elem_t), line);
    size_t room = (rx->size - rx->buf_base) / rx->buf_stride;
    if (room < rx->elems) {
        ucs_error("veshm: %u AM buffers of %zu bytes do not fit in a VESHM area of %zu", rx->elems,
                  rx->buf_stride, rx->size);
        return UCS_ERR_INVALID_PARAM;
    }
    unsigned spares = (unsigned)ucs_min(config->spares, room - rx->elems);
    rx->spare = calloc(ucs_max(spares, 1), sizeof(*rx->spare));
    if (rx->spare == NULL)
        return UCS_ERR_NO_MEMORY;

    if (veo_posix_memalign_hmem(uct_veshm_proc.handle, &rx->hmem, rx->size, rx->size) != 0) {
        ucs_error("veshm: no VE memory for the receive FIFO (%zu bytes)", rx->size);
        status = UCS_ERR_NO_MEMORY;
        goto err_spare;
    }
    rx->area = uct_veshm_platform_hmem_to_vh(rx->hmem);
    rx->owner = veo_get_pid_from_hmem(rx->hmem);
    if (rx->area == NULL) {
        status = UCS_ERR_NO_MEMORY;
        goto err_free;
    }
    uct_veshm_proc_lock();
    status = uct_veshm_area_open((uint64_t)rx->hmem);
    /* The FIFO lives in our VE process: it must outlive every memory domain
     * (a program may close its own UCP context before the one whose worker
     * owns this interface). */
    if (status == UCS_OK)
        uct_veshm_proc_ref_locked();
    uct_veshm_proc_unlock();
    if (status != UCS_OK)
        goto err_free;

    memset(rx->area, 0, rx->buf_base);
    do {
        rx->token = ucs_generate_uuid((uintptr_t)rx);
    } while (rx->token == 0);
    __atomic_store_n(&uct_veshm_fifo_ctl(rx->area)->token, rx->token, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < rx->elems; ++i)
        uct_veshm_fifo_elem(rx->area, i, rx->mask)->data_off =
            rx->buf_base + (size_t)i * rx->buf_stride + rx->data_in_buf;
    for (unsigned i = 0; i < spares; ++i)
        rx->spare[rx->nspare++] = rx->elems + spares - 1 - i;
    rx->release_ve.cb = uct_veshm_am_release_ve;
    rx->release_host.cb = uct_veshm_am_release_host;
    return UCS_OK;

err_free:
    veo_free_hmem(rx->hmem);
err_spare:
    free(rx->spare);
    rx->spare = NULL;
    return status;
}

void uct_veshm_am_rx_cleanup(uct_veshm_am_rx_t *rx) {
    if (rx->hmem == NULL)
        return;
    /* Before the area goes: senders still attached see the interface gone.
     * Only while the VE process lives: the program may have destroyed one it
     * created and the transport used (its memory is unmapped then). */
    if (uct_veshm_platform_hmem_to_vh(rx->hmem) == rx->area)
        __atomic_store_n(&uct_veshm_fifo_ctl(rx->area)->token, 0, __ATOMIC_RELEASE);
    uct_veshm_proc_lock();
    uct_veshm_area_close((uint64_t)rx->hmem);
    veo_free_hmem(rx->hmem);
    uct_veshm_proc_put_locked();
    uct_veshm_proc_unlock();
    free(rx->spare);
    while (rx->host_nfree > 0)
        free(rx->host_free[--rx->host_nfree]);
    memset(rx, 0, sizeof(*rx));
}

void uct_veshm_am_rx_address(const uct_veshm_am_rx_t *rx, uct_veshm_am_addr_t *addr) {
    addr->hmem = (uint64_t)rx->hmem;
    addr->owner_pid = (int32_t)rx->owner;
    addr->fifo_elems = rx->elems;
    addr->seg_size = (uint32_t)rx->seg_size;
    addr->inline_max = (uint32_t)rx->inline_max;
    addr->token = rx->token;
}

size_t uct_veshm_am_max_payload(const uct_veshm_am_rx_t *rx) {
    return rx->seg_size;
}

/* The handler may keep the data where it is when a spare buffer can take the
 * element's place; else it gets a host copy it may keep. */
static void uct_veshm_am_deliver(uct_veshm_iface_t *iface, uct_veshm_am_rx_t *rx,
                                 uct_veshm_fifo_elem_t *e) {
    uint8_t *data = rx->area + e->data_off;
    uint32_t length = e->length;
    ucs_status_t status;
    if (e->flags & UCT_VESHM_FIFO_FLAG_INLINE) {
        /* Not to be kept (no UCT_CB_PARAM_FLAG_DESC): the element is reused
         * as soon as the handler returns. */
        uct_iface_invoke_am(&iface->super, e->am_id, e->inline_data, length, 0);
        return;
    }
    if (ucs_likely(rx->nspare > 0)) {
        status = uct_iface_invoke_am(&iface->super, e->am_id, data, length, UCT_CB_PARAM_FLAG_DESC);
        if (status == UCS_INPROGRESS) {
            /* Where uct_recv_desc() reads it; with an AM alignment offset
             * that slot need not be pointer-aligned, hence bytes. */
            uct_recv_desc_t *release = &rx->release_ve;
            memcpy(data - rx->rx_headroom - sizeof(release), &release, sizeof(release));
            uint32_t buf = rx->spare[--rx->nspare];
            e->data_off = rx->buf_base + (size_t)buf * rx->buf_stride + rx->data_in_buf;
        }
        return;
    }
    void *block = uct_veshm_am_host_get(rx, length);
    if (block == NULL) {
        ucs_error("veshm: no memory for a received message of %u bytes; dropped", length);
        return;
    }
    uint8_t *copy = (uint8_t *)block + uct_veshm_am_host_in(rx);
    memcpy(copy, data, length);
    status = uct_iface_invoke_am(&iface->super, e->am_id, copy, length, UCT_CB_PARAM_FLAG_DESC);
    if (status == UCS_INPROGRESS) {
        void **desc = (void **)(copy - rx->rx_headroom);
        uct_recv_desc(desc) = &rx->release_host;
        desc[-2] = block;
        desc[-3] = (void *)(uintptr_t)length;
    } else {
        uct_veshm_am_host_put(rx, block, length);
    }
}

unsigned uct_veshm_am_rx_progress(uct_veshm_iface_t *iface) {
    uct_veshm_am_rx_t *rx = &iface->am_rx;
    unsigned count = 0;
    uct_veshm_fifo_elem_t *e;
    while (count < UCT_VESHM_AM_POLL_MAX &&
           (e = uct_veshm_fifo_peek(rx->area, rx->read_index, rx->mask)) != NULL) {
        if (!(e->flags & UCT_VESHM_FIFO_FLAG_DROPPED))
            uct_veshm_am_deliver(iface, rx, e);
        ++count;
        ++rx->read_index;
    }
    /* Given back in order, once per call: each store of tail moves its cache
     * line to the senders. */
    if (count > 0)
        uct_veshm_fifo_release(rx->area, rx->read_index);
    return count;
}

/* ---- sender ---- */

ucs_status_t uct_veshm_am_tx_connect(uct_veshm_am_tx_t *tx, const uct_veshm_am_addr_t *addr) {
    memset(tx, 0, sizeof(*tx));
    if (!ucs_is_pow2(addr->fifo_elems) || addr->fifo_elems < 2 || addr->seg_size == 0)
        return UCS_ERR_INVALID_ADDR;
    uct_veshm_attach_t *a = NULL;
    ucs_status_t status = UCS_ERR_UNREACHABLE;
    uct_veshm_proc_lock();
    if (uct_veshm_proc.handle != NULL) {
        status = uct_veshm_rkey_cache_get(
            &uct_veshm_proc.cache, uct_veshm_proc.handle, uct_veshm_proc.ve_pid, addr->owner_pid,
            addr->hmem, uct_veshm_proc.granule, UCT_VESHM_SYNCNUM, UCT_VESHM_OPEN_FLAGS,
            addr->token, &a); /* the token is new with every interface: an epoch */
        if (status == UCS_OK && (a->host == NULL || !a->writable)) {
            uct_veshm_rkey_cache_put(&uct_veshm_proc.cache, uct_veshm_proc.handle, a);
            status = UCS_ERR_UNREACHABLE;
        }
        if (status == UCS_OK)
            uct_veshm_proc_ref_locked();
    }
    uct_veshm_proc_unlock();
    if (status != UCS_OK) {
        ucs_debug("veshm: cannot attach the receive FIFO 0x%lx of VE process %d: %s",
                  (unsigned long)addr->hmem, (int)addr->owner_pid, ucs_status_string(status));
        return status;
    }
    if (!uct_veshm_fifo_is_open(a->host, addr->token) || addr->token == 0) {
        ucs_debug("veshm: the receive FIFO 0x%lx of VE process %d is closed",
                  (unsigned long)addr->hmem, (int)addr->owner_pid);
        uct_veshm_proc_lock();
        uct_veshm_rkey_cache_put(&uct_veshm_proc.cache, uct_veshm_proc.handle, a);
        uct_veshm_proc_put_locked();
        uct_veshm_proc_unlock();
        return UCS_ERR_UNREACHABLE;
    }
    tx->attach = a;
    tx->area = a->host;
    tx->token = addr->token;
    tx->elems = addr->fifo_elems;
    tx->mask = addr->fifo_elems - 1;
    tx->seg_size = addr->seg_size;
    tx->inline_max = ucs_min(addr->inline_max, UCT_VESHM_FIFO_INLINE_MAX);
    tx->tail = 0;
    /* The FIFO as one region whose addresses are its HMEM addresses. */
    veshm_rkey_info_t *k = &tx->rkey.info;
    k->kind = VESHM_RKEY_KIND_VE;
    k->owner_pid = addr->owner_pid;
    k->syncnum = UCT_VESHM_SYNCNUM;
    k->mode_flag = UCT_VESHM_OPEN_FLAGS;
    k->granule = uct_veshm_proc.granule;
    k->area_hmem = addr->hmem;
    k->area_count = 1;
    k->region_addr = addr->hmem;
    k->region_hmem = addr->hmem;
    k->region_len = uct_veshm_proc.granule;
    k->epoch = addr->token;
    tx->rkey.areas = &tx->attach;
    return UCS_OK;
}

void uct_veshm_am_tx_disconnect(uct_veshm_am_tx_t *tx) {
    if (tx->attach == NULL)
        return;
    uct_veshm_proc_lock();
    uct_veshm_rkey_cache_put(&uct_veshm_proc.cache, uct_veshm_proc.handle, tx->attach);
    uct_veshm_proc_put_locked();
    uct_veshm_proc_unlock();
    memset(tx, 0, sizeof(*tx));
}

int uct_veshm_am_tx_peer_open(const uct_veshm_am_tx_t *tx) {
    return tx->area == NULL || uct_veshm_fifo_is_open(tx->area, tx->token);
}

int uct_veshm_am_tx_has_room(const uct_veshm_am_tx_t *tx) {
    return uct_veshm_fifo_has_room(tx->area, tx->elems);
}

static inline uct_veshm_iface_t *uct_veshm_am_ep_iface(uct_veshm_ep_t *ep) {
    return ucs_derived_of(ep->super.super.iface, uct_veshm_iface_t);
}

/* A fence waits for data still moving: a message stored now would overtake
 * it (short and bcopy are stores, done at once; zcopy goes through the
 * engine, which keeps its fences). */
static int uct_veshm_am_fenced(uct_veshm_engine_t *eng) {
    if (ucs_likely(!uct_veshm_engine_moving(eng)))
        return 0;
    if (eng->fence_pending)
        return 1;
    uct_veshm_op_t *op;
    ucs_queue_for_each(op, &eng->post_queue, queue) {
        if (op->fenced)
            return 1;
    }
    return 0;
}

/* An element of the peer's FIFO for the next message: UCS_OK and its index,
 * or why not (a dead peer, a full FIFO, requests pending before it, a fence
 * not yet passed). */
static inline ucs_status_t uct_veshm_am_reserve(uct_veshm_ep_t *ep, int64_t *index,
                                                uct_veshm_fifo_elem_t **elem) {
    ucs_status_t status = uct_veshm_ep_check_peer(ep);
    if (ucs_unlikely(status != UCS_OK))
        return status;
    uct_veshm_am_tx_t *tx = &ep->am_tx;
    uct_veshm_engine_t *eng = &uct_veshm_am_ep_iface(ep)->engine;
    if (ucs_unlikely(uct_veshm_engine_behind_pending(eng)) || uct_veshm_am_fenced(eng))
        return UCS_ERR_NO_RESOURCE;
    *index = uct_veshm_fifo_reserve(tx->area, tx->elems, &tx->tail);
    if (*index < 0)
        return UCS_ERR_NO_RESOURCE;
    *elem = uct_veshm_fifo_elem(tx->area, (uint64_t)*index, tx->mask);
    return UCS_OK;
}

ucs_status_t uct_veshm_ep_am_short(uct_ep_h tl_ep, uint8_t id, uint64_t header, const void *payload,
                                   unsigned length) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    UCT_CHECK_AM_ID(id);
    UCT_CHECK_LENGTH(sizeof(header) + length, 0, uct_veshm_am_ep_iface(ep)->config.am_max_short,
                     "am_short");
    int64_t index;
    uct_veshm_fifo_elem_t *e;
    ucs_status_t status = uct_veshm_am_reserve(ep, &index, &e);
    if (status != UCS_OK)
        return status;
    size_t total = sizeof(header) + length;
    uint8_t flags = 0;
    uint8_t *data;
    if (total <= ep->am_tx.inline_max) {
        data = e->inline_data;
        flags = UCT_VESHM_FIFO_FLAG_INLINE;
    } else {
        data = ep->am_tx.area + e->data_off;
    }
    memcpy(data, &header, sizeof(header));
    if (length > 0) /* payload may be NULL then */
        memcpy(data + sizeof(header), payload, length);
    uct_veshm_fifo_publish(e, (uint64_t)index, id, (uint32_t)total, flags);
    UCT_TL_EP_STAT_OP(&ep->super, AM, SHORT, sizeof(header) + length);
    uct_veshm_am_count(sizeof(header) + length);
    return UCS_OK;
}

ssize_t uct_veshm_ep_am_bcopy(uct_ep_h tl_ep, uint8_t id, uct_pack_callback_t pack_cb, void *arg,
                              unsigned flags) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    UCT_CHECK_AM_ID(id);
    int64_t index;
    uct_veshm_fifo_elem_t *e;
    ucs_status_t status = uct_veshm_am_reserve(ep, &index, &e);
    if (status != UCS_OK)
        return status;
    size_t length = pack_cb(ep->am_tx.area + e->data_off, arg);
    ucs_assertv(length <= uct_veshm_am_ep_iface(ep)->config.am_max_bcopy, "packed %zu", length);
    uct_veshm_fifo_publish(e, (uint64_t)index, id, (uint32_t)length, 0);
    UCT_TL_EP_STAT_OP(&ep->super, AM, BCOPY, length);
    uct_veshm_am_count(length);
    return (ssize_t)length;
}

/* An am_zcopy whose payload VE DMA is moving: its element is published when
 * the DMA completes. */
typedef struct uct_veshm_am_zcopy {
    uct_completion_t comp; /* the engine's */
    uct_completion_t *user;
    uct_veshm_fifo_elem_t *elem;
    uint64_t index;
    uint32_t length;
    uint8_t id;
} uct_veshm_am_zcopy_t;

static void uct_veshm_am_zcopy_publish(uct_veshm_am_zcopy_t *z, ucs_status_t status) {
    /* A failed payload still takes its element (later ones are behind it):
     * the receiver skips it. */
    uct_veshm_fifo_publish(z->elem, z->index, z->id, z->length,
                           (status == UCS_OK) ? 0 : UCT_VESHM_FIFO_FLAG_DROPPED);
}

static void uct_veshm_am_zcopy_done(uct_completion_t *comp) {
    uct_veshm_am_zcopy_t *z = ucs_container_of(comp, uct_veshm_am_zcopy_t, comp);
    uct_veshm_am_zcopy_publish(z, comp->status);
    if (z->user != NULL)
        uct_invoke_completion(z->user, comp->status);
    free(z);
}

ucs_status_t uct_veshm_ep_am_zcopy(uct_ep_h tl_ep, uint8_t id, const void *header,
                                   unsigned header_length, const uct_iov_t *iov, size_t iovcnt,
                                   unsigned flags, uct_completion_t *comp) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_iface_t *iface = uct_veshm_am_ep_iface(ep);
    UCT_CHECK_AM_ID(id);
    UCT_CHECK_LENGTH(header_length, 0, iface->config.am_max_hdr, "am_zcopy header");
    UCT_CHECK_IOV_SIZE(iovcnt, (size_t)UCT_VESHM_MAX_IOV, "am_zcopy");
    size_t payload = uct_iov_total_length(iov, iovcnt);
    UCT_CHECK_LENGTH(header_length + payload, 0, iface->config.am_max_zcopy, "am_zcopy");
    int64_t index;
    uct_veshm_fifo_elem_t *e;
    ucs_status_t status = uct_veshm_am_reserve(ep, &index, &e);
    if (status != UCS_OK)
        return status;
    uint32_t length = (uint32_t)(header_length + payload);
    uint64_t data_off = e->data_off;
    if (header_length > 0) /* header may be NULL then */
        memcpy(ep->am_tx.area + data_off, header, header_length);
    UCT_TL_EP_STAT_OP(&ep->super, AM, ZCOPY, length);
    uct_veshm_am_count(length);
    if (payload == 0) {
        uct_veshm_fifo_publish(e, (uint64_t)index, id, length, 0);
        return UCS_OK;
    }
    uct_veshm_am_zcopy_t *z = malloc(sizeof(*z));
    if (z == NULL) {
        uct_veshm_fifo_publish(e, (uint64_t)index, id, length, UCT_VESHM_FIFO_FLAG_DROPPED);
        return UCS_ERR_NO_MEMORY;
    }
    z->comp.func = uct_veshm_am_zcopy_done;
    z->comp.count = 1;
    z->comp.status = UCS_OK;
    z->user = comp;
    z->elem = e;
    z->index = (uint64_t)index;
    z->length = length;
    z->id = id;
    /* Not behind pending requests (checked above): the engine takes it. */
    status = uct_veshm_op_zcopy(&iface->engine, 0, iov, iovcnt,
                                ep->am_tx.rkey.info.region_addr + data_off + header_length,
                                &ep->am_tx.rkey, &z->comp);
    if (status == UCS_INPROGRESS)
        return UCS_INPROGRESS;
    uct_veshm_am_zcopy_publish(z, status);
    free(z);
    return status;
}
