/* veshm interface: RMA as VE DMA between VEHVAs of the transport's VE
 * process, through the operation engine (veshm_op.h). */
#ifndef UCT_VESHM_IFACE_H
#define UCT_VESHM_IFACE_H

#include <uct/base/uct_iface.h>

#include "veshm_am.h"
#include "veshm_md.h"
#include "veshm_op.h"

#define UCT_VESHM_TL_NAME "veshm"

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
    int help;          /* large copies shared with the peer (veshm_help.h) */
    size_t pio_max;    /* bcopy/zcopy up to this size through the PCI window */
    uct_veshm_am_config_t am;
} uct_veshm_iface_config_t;

/* Device address: which kernel, namespaces and user (veshm_scope.h);
 * interface address: which process, and its receive FIFO. */
typedef uct_veshm_scope_t uct_veshm_device_addr_t;

typedef struct uct_veshm_iface_addr {
    int32_t vh_pid;
    int32_t node;
    uct_veshm_am_addr_t am;
} UCS_S_PACKED uct_veshm_iface_addr_t;

typedef struct uct_veshm_iface {
    uct_base_iface_t super;
    int node;
    struct {
        size_t max_short, max_bcopy;
        /* The largest put_short (0 without SHORT_PIO) and get_bcopy (PIO_MAX
         * bounds it) that the endpoint's inline paths take: one compare. */
        size_t put_short_pio_max, get_bcopy_pio_max;
        size_t am_max_short, am_max_bcopy, am_max_zcopy, am_max_hdr;
        double bandwidth, latency, overhead;
        ucs_time_t peer_check;
        int help; /* HELP: offers its large copies to peers (veshm_help.h) */
    } config;
    uct_veshm_engine_t engine;
    uct_veshm_am_rx_t am_rx;
    ucs_list_link_t eps;
    int help_off;              /* HELP=n, or the kernel refused to reach a peer (veshm_help.h) */
    uint64_t help_served;      /* the last job of its slot it served (copy_help.h) */
    unsigned progress_calls;   /* since the last look at the clock */
    ucs_time_t next_peer_scan; /* built-in keepalive of the endpoints */
} uct_veshm_iface_t;

#endif
