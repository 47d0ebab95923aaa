/* Large copies shared with the peer: see veshm_help.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_help.h"

#include <unistd.h>

#include "copy_help.h"
#include "veshm_ep.h"
#include "veshm_fifo.h"
#include "veshm_md.h"

static uint64_t uct_veshm_help_helped, uct_veshm_help_served;

__attribute__((visibility("default"))) void uct_veshm_help_stats(uint64_t *helped,
                                                                 uint64_t *served) {
    if (helped)
        *helped = __atomic_load_n(&uct_veshm_help_helped, __ATOMIC_RELAXED);
    if (served)
        *served = __atomic_load_n(&uct_veshm_help_served, __ATOMIC_RELAXED);
}

int uct_veshm_help_wanted(uct_veshm_ep_t *ep, size_t length) {
    return length >= VESHM_COPY_HELP_MIN && ep->am_tx.area != NULL &&
           uct_veshm_am_tx_peer_open(&ep->am_tx);
}

static int uct_veshm_help_peer_alive(void *arg) {
    return uct_veshm_ep_peer_alive(arg);
}

ucs_status_t uct_veshm_help_copy(uct_veshm_ep_t *ep, uint8_t *host, uint64_t addr, void *buf,
                                 size_t length, int is_get) {
    struct veshm_copy_help *h = &uct_veshm_fifo_ctl(ep->am_tx.area)->help;
    struct veshm_copy_help_job job = {host, addr, buf, length, is_get, 0};
    int64_t helped =
        veshm_copy_help_origin(h, (uint64_t)getpid(), &job, NULL, uct_veshm_help_peer_alive, ep);
    if (helped < 0)
        return UCS_ERR_ENDPOINT_TIMEOUT;
    __atomic_fetch_add(&uct_veshm_help_helped, (uint64_t)helped, __ATOMIC_RELAXED);
    return UCS_OK;
}

/* The job's memory in this process: only VE memory whose areas this process
 * opened for its peers (whatever the slot says, any peer may have written). */
static uint8_t *uct_veshm_help_resolve(void *arg, uint64_t addr, uint64_t len) {
    return uct_veshm_md_exported((void *)(uintptr_t)addr, len) ? (uint8_t *)(uintptr_t)addr : NULL;
}

unsigned uct_veshm_help_progress(uct_veshm_iface_t *iface) {
    struct veshm_copy_help *h = &uct_veshm_fifo_ctl(iface->am_rx.area)->help;
    /* The one load every progress call pays. */
    if (ucs_likely(!veshm_copy_help_open(__atomic_load_n(&h->claim, __ATOMIC_RELAXED))) ||
        iface->help_off)
        return 0;
    int n = veshm_copy_help_serve(h, uct_veshm_help_resolve, NULL, NULL, &iface->help_off);
    if (iface->help_off)
        ucs_debug("veshm: the kernel refused to reach a peer's buffer: this interface helps no "
                  "more");
    __atomic_fetch_add(&uct_veshm_help_served, (uint64_t)n, __ATOMIC_RELAXED);
    return (unsigned)n;
}
