/* Active messages over VESHM: each interface owns a receive FIFO
 * (veshm_fifo.h) in VE memory of its VE process, opened as a VESHM area that
 * peers attach when they create an endpoint. Short and bcopy messages are
 * CPU stores through the host view of the attachment (like the PIO put),
 * zcopy payloads are VE DMA of the operation engine into the element's
 * buffer. The receiver polls its FIFO in progress and calls the handlers. */
#ifndef UCT_VESHM_AM_H
#define UCT_VESHM_AM_H

#include <sys/types.h>

#include <uct/api/uct.h>
#include <uct/base/uct_iface.h>

#include "veshm_md.h"
#include "veshm_rkey_cache.h"

struct uct_veshm_iface;
struct uct_veshm_ep;

typedef struct uct_veshm_am_config {
    unsigned fifo_elems; /* elements of the receive FIFO (power of two) */
    size_t max_short;    /* largest am_short, header included */
    size_t seg_size;     /* largest payload of one message */
    unsigned spares;     /* buffers for data the handlers keep */
} uct_veshm_am_config_t;

/* What a peer needs to attach an interface's FIFO (part of its address). */
typedef struct uct_veshm_am_addr {
    uint64_t hmem;       /* the FIFO area (HMEM address) */
    int32_t owner_pid;   /* VE process owning it */
    uint32_t fifo_elems; /* power of two */
    uint32_t seg_size;   /* largest payload the receiver takes */
    uint32_t inline_max; /* largest payload it takes in the element itself */
    uint64_t token;      /* the FIFO's token while the interface is open */
} UCS_S_PACKED uct_veshm_am_addr_t;

/* Receiver side, in the interface. */
typedef struct uct_veshm_am_rx {
    void *hmem;     /* the VE memory of the area */
    uint8_t *area;  /* its host view */
    size_t size;    /* bytes (one VESHM area) */
    pid_t owner;    /* VE process owning it */
    uint32_t elems; /* power of two */
    uint32_t mask;
    uint64_t token; /* uct_veshm_fifo_ctl_t.token while open */
    size_t seg_size;
    size_t inline_max;   /* 0 when the user asked for an AM alignment */
    uint64_t read_index; /* next element to consume */
    size_t rx_headroom;
    size_t buf_base;    /* offset of buffer 0 in the area */
    size_t buf_stride;  /* bytes per buffer */
    size_t data_in_buf; /* payload offset in a buffer (headroom, alignment) */
    size_t align, align_offset;
    uint32_t *spare; /* buffers no element points to */
    unsigned nspare;
    uct_recv_desc_t release_ve;   /* data kept in its FIFO buffer */
    uct_recv_desc_t release_host; /* data kept in a host copy */
    /* Host copies of large messages, all of the largest size, kept for the
     * next one: each fresh one would be an mmap of zeroed pages. */
    void *host_free[64];
    unsigned host_nfree;
} uct_veshm_am_rx_t;

/* Sender side, in the endpoint. */
typedef struct uct_veshm_am_tx {
    uint8_t *area; /* host view of the peer's FIFO, NULL if not connected */
    uint32_t elems, mask;
    size_t seg_size, inline_max;
    uint64_t tail;         /* the receiver's tail as last read */
    uint64_t token;        /* the receiving interface's, while it is open */
    uct_veshm_rkey_t rkey; /* the area as a remote key, for zcopy's DMA */
    uct_veshm_attach_t *attach;
} uct_veshm_am_tx_t;

/* Allocates and opens the FIFO of an interface in its VE process. */
ucs_status_t uct_veshm_am_rx_init(uct_veshm_am_rx_t *rx, const uct_iface_params_t *params,
                                  const uct_veshm_am_config_t *config);
void uct_veshm_am_rx_cleanup(uct_veshm_am_rx_t *rx);
void uct_veshm_am_rx_address(const uct_veshm_am_rx_t *rx, uct_veshm_am_addr_t *addr);
/* Delivers published messages to the handlers; returns how many. */
unsigned uct_veshm_am_rx_progress(struct uct_veshm_iface *iface);
/* The largest payload any message of this interface carries. */
size_t uct_veshm_am_max_payload(const uct_veshm_am_rx_t *rx);

/* Attaches the peer's FIFO; UCS_ERR_UNREACHABLE if it cannot be. */
ucs_status_t uct_veshm_am_tx_connect(uct_veshm_am_tx_t *tx, const uct_veshm_am_addr_t *addr);
void uct_veshm_am_tx_disconnect(uct_veshm_am_tx_t *tx);
/* Whether the peer interface still owns its FIFO (not closed). */
int uct_veshm_am_tx_peer_open(const uct_veshm_am_tx_t *tx);
/* Whether a message could be sent to the peer now (its FIFO has room). */
int uct_veshm_am_tx_has_room(const uct_veshm_am_tx_t *tx);

ucs_status_t uct_veshm_ep_am_short(uct_ep_h tl_ep, uint8_t id, uint64_t header, const void *payload,
                                   unsigned length);
ssize_t uct_veshm_ep_am_bcopy(uct_ep_h tl_ep, uint8_t id, uct_pack_callback_t pack_cb, void *arg,
                              unsigned flags);
ucs_status_t uct_veshm_ep_am_zcopy(uct_ep_h tl_ep, uint8_t id, const void *header,
                                   unsigned header_length, const uct_iov_t *iov, size_t iovcnt,
                                   unsigned flags, uct_completion_t *comp);

#endif
