/* veshm interface: configuration, attributes, addresses, flush, fence and
 * life cycle; the operations are the engine's (veshm_op.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_iface.h"

#include <string.h>
#include <unistd.h>

#include <ucs/arch/atomic.h>
#include <ucs/arch/cpu.h>
#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/sys/string.h>
#include <ucs/sys/sys.h>
#include <ucs/time/time.h>

#include "veshm_ep.h"
#include "veshm_help.h"
#include "veshm_op_int.h"
#include "veshm_perf.h"
#include "veshm_platform.h"
#include "veshm_proc.h"

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

    {"MAX_SHORT", "128k",
     "Largest put_short. A put_short is one store through the host view (SHORT_PIO),\n"
     "and UCP registers nothing for it, while its zcopy registers the local buffer\n"
     "for the same one copy: so up to a size below the one from which the peer helps\n"
     "with large copies (512k).",
     ucs_offsetof(uct_veshm_iface_config_t, max_short), UCS_CONFIG_TYPE_MEMUNITS},

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
     "How often (at most) progress and data operations check that the peer processes\n"
     "live (flush checks every millisecond).",
     ucs_offsetof(uct_veshm_iface_config_t, peer_check), UCS_CONFIG_TYPE_TIME},

    {"SHORT_PIO", "y",
     "put_short as a CPU store through the host's view of the peer's area, which\n"
     "VE_REGISTER_PCI put into the PCI window (like a VH store into a VE's PCI BAR),\n"
     "instead of a VE DMA descriptor. A DMA post costs more than the whole store for\n"
     "the few bytes put_short carries; 'n' sends put_short as DMA too.",
     ucs_offsetof(uct_veshm_iface_config_t, short_pio), UCS_CONFIG_TYPE_BOOL},

    {"HELP", "y",
     "Large puts and gets (from 512k, or from 1m where the kernel copies between\n"
     "processes much slower than memcpy) are shared with the peer that owns the\n"
     "memory: it copies part of them from its progress (a wait inside UCX), and this\n"
     "interface helps its peers likewise. 'n': it neither offers its copies to peers\n"
     "nor helps theirs (each side copies its own; a wait returns once its own work\n"
     "is done).",
     ucs_offsetof(uct_veshm_iface_config_t, help), UCS_CONFIG_TYPE_BOOL},

    {"AM_FIFO_SIZE", "64",
     "Elements of the receive FIFO of active messages (a power of two): messages\n"
     "a peer may have sent and this interface not yet taken.",
     ucs_offsetof(uct_veshm_iface_config_t, am.fifo_elems), UCS_CONFIG_TYPE_UINT},

    {"AM_MAX_SHORT", "2k", "Largest active message by am_short (header and payload).",
     ucs_offsetof(uct_veshm_iface_config_t, am.max_short), UCS_CONFIG_TYPE_MEMUNITS},

    {"AM_SEG_SIZE", "256k",
     "Largest active message (header and payload, all methods). Messages up to it\n"
     "go eagerly in one piece; UCP sends larger ones by rendezvous in pieces of it.",
     ucs_offsetof(uct_veshm_iface_config_t, am.seg_size), UCS_CONFIG_TYPE_MEMUNITS},

    {"AM_SPARES", "128",
     "Receive buffers beyond the FIFO's own for messages the upper layer keeps\n"
     "(unexpected ones); when they are taken, kept messages are copied to host memory.",
     ucs_offsetof(uct_veshm_iface_config_t, am.spares), UCS_CONFIG_TYPE_UINT},

    {"PIO_MAX", "4m",
     "Puts and gets (bcopy, zcopy) up to this size that can start at once are CPU\n"
     "stores and loads through the host's view of the peer's area, made by the\n"
     "calling thread: one copy, no bounce buffer, nothing that waits for the DMA\n"
     "engine thread to be scheduled. Larger ones, and those that must wait for a\n"
     "fence, are VE DMA. 0: everything but put_short and unaligned edges as VE DMA.",
     ucs_offsetof(uct_veshm_iface_config_t, pio_max), UCS_CONFIG_TYPE_MEMUNITS},

    {NULL}};

/* The built-in keepalive (UCT_IFACE_FLAG_EP_KEEPALIVE): every PEER_CHECK
 * interval progress checks that the peers of all endpoints live, so a dead
 * peer is reported even to a caller that only waits for its messages. */
static void uct_veshm_iface_scan_peers(uct_veshm_iface_t *iface) {
    if (ucs_likely(++iface->progress_calls < 1024))
        return;
    iface->progress_calls = 0;
    ucs_time_t now = ucs_get_time();
    if (now < iface->next_peer_scan)
        return;
    iface->next_peer_scan = now + iface->config.peer_check;
    uct_veshm_ep_t *ep;
    ucs_list_for_each(ep, &iface->eps, list) {
        if (!ep->failed)
            uct_veshm_ep_peer_alive(ep);
    }
}

static unsigned uct_veshm_iface_progress(uct_iface_h tl_iface) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    uct_veshm_iface_scan_peers(iface);
    return uct_veshm_am_rx_progress(iface) + uct_veshm_engine_progress(&iface->engine) +
           uct_veshm_help_progress(iface);
}

/* ---- interface ---- */

static ucs_status_t uct_veshm_iface_flush(uct_iface_h tl_iface, unsigned flags,
                                          uct_completion_t *comp) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    if (comp != NULL)
        return UCS_ERR_UNSUPPORTED;
    if (uct_veshm_engine_is_idle(&iface->engine)) {
        UCT_TL_IFACE_STAT_FLUSH(&iface->super);
        return UCS_OK;
    }
    UCT_TL_IFACE_STAT_FLUSH_WAIT(&iface->super);
    return UCS_INPROGRESS;
}

static ucs_status_t uct_veshm_iface_fence(uct_iface_h tl_iface, unsigned flags) {
    uct_veshm_iface_t *iface = ucs_derived_of(tl_iface, uct_veshm_iface_t);
    /* ucp_worker_fence fences every interface on its own, and the operation
     * after it often goes elsewhere: osc/ucx completes MPI_Rput with an
     * atomic that UCP may emulate over another transport's active messages.
     * So what has started here finishes now (completion callbacks are left
     * to progress); requests still pending keep their place before the
     * fence. */
    uct_veshm_engine_fence(&iface->engine, 1);
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
    uct_veshm_am_rx_address(&iface->am_rx, &a->am);
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
    /* Below max_bcopy, zcopy only adds UCP's registration of the local buffer
     * to the same one copy (bcopy packs straight into the peer, veshm_pio.h).
     * UCP's own threshold does not see that: it takes the registration cost
     * of whichever transport is its first RMA lane (posix or cma: none), and
     * then registers every get from 1 byte on. For puts half of max_bcopy,
     * not all of it: UCX's own suite (test_zcopy_comp) takes put zcopy sizes
     * up to 64 KiB as valid (and puts up to max_short are put_short anyway);
     * gets up to max_bcopy are bcopy. */
    attr->cap.put.min_zcopy = iface->config.max_bcopy / 2 + 1;
    attr->cap.put.max_zcopy = SIZE_MAX;
    attr->cap.put.opt_zcopy_align = 4;
    attr->cap.put.align_mtu = 4;
    attr->cap.put.max_iov = UCT_VESHM_MAX_IOV;
    attr->cap.get.max_short = 0;
    attr->cap.get.max_bcopy = iface->config.max_bcopy;
    attr->cap.get.min_zcopy = iface->config.max_bcopy + 1;
    attr->cap.get.max_zcopy = SIZE_MAX;
    attr->cap.get.opt_zcopy_align = 4;
    attr->cap.get.align_mtu = 4;
    attr->cap.get.max_iov = UCT_VESHM_MAX_IOV;
    attr->cap.am.max_short = iface->config.am_max_short;
    attr->cap.am.max_bcopy = iface->config.am_max_bcopy;
    attr->cap.am.min_zcopy = 0;
    attr->cap.am.max_zcopy = iface->config.am_max_zcopy;
    attr->cap.am.opt_zcopy_align = 4;
    attr->cap.am.align_mtu = 4;
    attr->cap.am.max_hdr = iface->config.am_max_hdr;
    attr->cap.am.max_iov = UCT_VESHM_MAX_IOV;

    attr->device_addr_len = sizeof(uct_veshm_device_addr_t);
    attr->iface_addr_len = sizeof(uct_veshm_iface_addr_t);
    attr->ep_addr_len = 0;
    attr->max_conn_priv = 0;
    attr->cap.flags = UCT_IFACE_FLAG_PUT_SHORT | UCT_IFACE_FLAG_PUT_BCOPY |
                      UCT_IFACE_FLAG_PUT_ZCOPY | UCT_IFACE_FLAG_GET_BCOPY |
                      UCT_IFACE_FLAG_GET_ZCOPY | UCT_IFACE_FLAG_ATOMIC_CPU |
                      UCT_IFACE_FLAG_PENDING | UCT_IFACE_FLAG_CONNECT_TO_IFACE |
                      UCT_IFACE_FLAG_AM_SHORT | UCT_IFACE_FLAG_AM_BCOPY | UCT_IFACE_FLAG_AM_ZCOPY |
                      UCT_IFACE_FLAG_CB_SYNC | UCT_IFACE_FLAG_ERRHANDLE_PEER_FAILURE |
                      UCT_IFACE_FLAG_EP_CHECK | UCT_IFACE_FLAG_EP_KEEPALIVE;
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

static UCS_CLASS_DECLARE_DELETE_FUNC(uct_veshm_iface_t, uct_iface_t);

static uct_iface_ops_t uct_veshm_iface_tl_ops = {
    .ep_am_short = uct_veshm_ep_am_short,
    .ep_am_short_iov = uct_base_ep_am_short_iov,
    .ep_am_bcopy = uct_veshm_ep_am_bcopy,
    .ep_am_zcopy = uct_veshm_ep_am_zcopy,
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
    .ep_invalidate = uct_veshm_ep_invalidate,
};

static UCS_CLASS_INIT_FUNC(uct_veshm_iface_t, uct_md_h md, uct_worker_h worker,
                           const uct_iface_params_t *params, const uct_iface_config_t *tl_config) {
    const uct_veshm_iface_config_t *config = ucs_derived_of(tl_config, uct_veshm_iface_config_t);
    uct_veshm_md_t *vmd = ucs_derived_of(md, uct_veshm_md_t);
    uct_veshm_node_info_t info;

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
    self->node = vmd->node;
    if (uct_veshm_platform_node_info(self->node, &info) != UCS_OK)
        return UCS_ERR_NO_DEVICE;
    uct_veshm_engine_config_t ec;
    self->config.max_short = config->max_short;
    self->config.max_bcopy = ec.max_bcopy = ucs_max(config->max_bcopy, 64);
    self->config.peer_check = ucs_time_from_sec(config->peer_check);
    self->config.help = config->help;
    self->help_off = !config->help;
    ec.seg_size = ucs_align_up(ucs_max(config->seg_size, 4096), 4);
    ec.dma_chunk = ucs_align_down(ucs_min(ucs_max(config->dma_chunk, 4096), UCT_VESHM_DMA_MAX), 4);
    ec.inline_max = info.dma_inline_max;
    ec.granule = uct_veshm_proc.granule;
    ec.bounce_size =
        ucs_align_up(ucs_max(config->bounce_size, 2 * (ec.seg_size + ec.max_bcopy)), ec.granule);
    ec.descriptors = info.dma_descriptors;
    ec.short_pio = config->short_pio;
    ec.pio_max = config->pio_max;
    self->config.put_short_pio_max = ec.short_pio ? self->config.max_short : 0;
    self->config.get_bcopy_pio_max = ucs_min(self->config.max_bcopy, ec.pio_max);
    ucs_list_head_init(&self->eps);
    ucs_status_t status = uct_veshm_engine_init(&self->engine, uct_veshm_proc.handle, &ec);
    if (status != UCS_OK)
        return status;
    status = uct_veshm_am_rx_init(&self->am_rx, params, &config->am);
    if (status != UCS_OK) {
        uct_veshm_engine_cleanup(&self->engine);
        return status;
    }
    size_t seg = uct_veshm_am_max_payload(&self->am_rx);
    self->config.am_max_short = ucs_min(ucs_max(config->am.max_short, 16), seg);
    self->config.am_max_bcopy = seg;
    self->config.am_max_zcopy = seg;
    self->config.am_max_hdr = ucs_min(256, seg);

    if (self->config.help)
        uct_veshm_help_init();
    uct_veshm_perf_buffer_t buf;
    uct_veshm_perf_t perf;
    uct_veshm_engine_perf_buffer(&self->engine, &buf);
    uct_veshm_perf_get(&buf, &perf);
    self->config.bandwidth =
        UCS_CONFIG_BW_IS_AUTO(config->bandwidth) ? perf.bandwidth : config->bandwidth;
    self->config.latency = (config->latency > 0) ? config->latency : perf.latency;
    self->config.overhead = perf.overhead;
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_veshm_iface_t) {
    uct_base_iface_progress_disable(&self->super.super, UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
    uct_veshm_engine_cleanup(&self->engine);
    uct_veshm_am_rx_cleanup(&self->am_rx);
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
