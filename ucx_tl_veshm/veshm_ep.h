/* veshm endpoint: RMA, atomics and active messages to one peer process on
 * this host. */
#ifndef UCT_VESHM_EP_H
#define UCT_VESHM_EP_H

#include "veshm_iface.h"

#include <ucs/time/time.h>

typedef struct uct_veshm_ep {
    uct_base_ep_t super;
    ucs_list_link_t list; /* in the interface's endpoints */
    pid_t peer_pid;       /* peer host process */
    int peer_fd;          /* pidfd of the peer, -1 if unavailable */
    int failed;           /* the peer is gone */
    /* The largest put_short through the host view (the interface's), 0 once
     * failed: put_short's one test of the endpoint, on its first line. */
    unsigned put_short_pio_max;
    unsigned ops_since_check;
    ucs_time_t next_flush_check;  /* next liveness check by flush */
    unsigned flushes_since_check; /* flushes since flush last read the clock */
    ucs_time_t next_check;        /* next liveness check by data operations */
    uct_keepalive_info_t keepalive;
    uct_veshm_am_tx_t am_tx; /* the peer's receive FIFO */
} uct_veshm_ep_t;

UCS_CLASS_DECLARE_NEW_FUNC(uct_veshm_ep_t, uct_ep_t, const uct_ep_params_t *);
UCS_CLASS_DECLARE_DELETE_FUNC(uct_veshm_ep_t, uct_ep_t);

/* Whether the peer of ep still lives (checks now). If not, marks ep failed
 * and reports it once through the interface's error handler
 * (uct_iface_handle_ep_err, UCS_ERR_ENDPOINT_TIMEOUT). */
int uct_veshm_ep_peer_alive(uct_veshm_ep_t *ep);
/* uct_ep_invalidate: ep fails from now on, as if its peer had died, and the
 * error handler hears of it once. */
ucs_status_t uct_veshm_ep_invalidate(uct_ep_h tl_ep, unsigned flags);

#define UCT_VESHM_CHECK_EVERY 256

/* Whether an operation may go the fast way: the peer is not known to be
 * gone. The fast paths (put_short, get_bcopy and atomics through the host
 * view) look at nothing else: counting operations towards the next check of
 * the peer, a load and a store of the endpoint, cost 1.5 ns of a 20 ns
 * OpenSHMEM getmem (A/B, 30M 8-byte gets). Like UCX's mm transport, they
 * are loads and stores in memory this process keeps attached, which cannot
 * fail or hang when the peer dies; its death is found by the next flush (at
 * most a millisecond late), by progress (UCT_IFACE_FLAG_EP_KEEPALIVE) and by
 * every other operation (uct_veshm_ep_check_peer). */
static UCS_F_ALWAYS_INLINE int uct_veshm_ep_may_go_fast(const uct_veshm_ep_t *ep) {
    return !ep->failed;
}

/* Every few operations, and always when asked, make sure the peer lives. */
static inline ucs_status_t uct_veshm_ep_check_peer(uct_veshm_ep_t *ep) {
    if (ucs_unlikely(ep->failed))
        return UCS_ERR_ENDPOINT_TIMEOUT;
    if (ucs_unlikely(++ep->ops_since_check >= UCT_VESHM_CHECK_EVERY)) {
        ep->ops_since_check = 0;
        ucs_time_t now = ucs_get_time();
        if (now >= ep->next_check) {
            uct_veshm_iface_t *iface = ucs_derived_of(ep->super.super.iface, uct_veshm_iface_t);
            ep->next_check = now + iface->config.peer_check;
            if (!uct_veshm_ep_peer_alive(ep))
                return UCS_ERR_ENDPOINT_TIMEOUT;
        }
    }
    return UCS_OK;
}

ucs_status_t uct_veshm_ep_put_short(uct_ep_h tl_ep, const void *buffer, unsigned length,
                                    uint64_t remote_addr, uct_rkey_t rkey);
ssize_t uct_veshm_ep_put_bcopy(uct_ep_h tl_ep, uct_pack_callback_t pack_cb, void *arg,
                               uint64_t remote_addr, uct_rkey_t rkey);
ucs_status_t uct_veshm_ep_put_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov, size_t iovcnt,
                                    uint64_t remote_addr, uct_rkey_t rkey, uct_completion_t *comp);
ucs_status_t uct_veshm_ep_get_bcopy(uct_ep_h tl_ep, uct_unpack_callback_t unpack_cb, void *arg,
                                    size_t length, uint64_t remote_addr, uct_rkey_t rkey,
                                    uct_completion_t *comp);
ucs_status_t uct_veshm_ep_get_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov, size_t iovcnt,
                                    uint64_t remote_addr, uct_rkey_t rkey, uct_completion_t *comp);
ucs_status_t uct_veshm_ep_atomic64_post(uct_ep_h tl_ep, unsigned opcode, uint64_t value,
                                        uint64_t remote_addr, uct_rkey_t rkey);
ucs_status_t uct_veshm_ep_atomic32_post(uct_ep_h tl_ep, unsigned opcode, uint32_t value,
                                        uint64_t remote_addr, uct_rkey_t rkey);
ucs_status_t uct_veshm_ep_atomic64_fetch(uct_ep_h tl_ep, unsigned opcode, uint64_t value,
                                         uint64_t *result, uint64_t remote_addr, uct_rkey_t rkey,
                                         uct_completion_t *comp);
ucs_status_t uct_veshm_ep_atomic32_fetch(uct_ep_h tl_ep, unsigned opcode, uint32_t value,
                                         uint32_t *result, uint64_t remote_addr, uct_rkey_t rkey,
                                         uct_completion_t *comp);
ucs_status_t uct_veshm_ep_atomic_cswap64(uct_ep_h tl_ep, uint64_t compare, uint64_t swap,
                                         uint64_t remote_addr, uct_rkey_t rkey, uint64_t *result,
                                         uct_completion_t *comp);
ucs_status_t uct_veshm_ep_atomic_cswap32(uct_ep_h tl_ep, uint32_t compare, uint32_t swap,
                                         uint64_t remote_addr, uct_rkey_t rkey, uint32_t *result,
                                         uct_completion_t *comp);
ucs_status_t uct_veshm_ep_flush(uct_ep_h tl_ep, unsigned flags, uct_completion_t *comp);
ucs_status_t uct_veshm_ep_fence(uct_ep_h tl_ep, unsigned flags);
ucs_status_t uct_veshm_ep_check(uct_ep_h tl_ep, unsigned flags, uct_completion_t *comp);
ucs_status_t uct_veshm_ep_pending_add(uct_ep_h tl_ep, uct_pending_req_t *req, unsigned flags);
void uct_veshm_ep_pending_purge(uct_ep_h tl_ep, uct_pending_purge_callback_t cb, void *arg);

#endif
