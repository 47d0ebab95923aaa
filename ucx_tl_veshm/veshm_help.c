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
#include "veshm_rkey_cache.h"
#include "ve_offload.h"

static uint64_t uct_veshm_help_helped, uct_veshm_help_served, uct_veshm_help_viewed;

__attribute__((visibility("default"))) void uct_veshm_help_stats(uint64_t *helped,
                                                                 uint64_t *served) {
    if (helped)
        *helped = __atomic_load_n(&uct_veshm_help_helped, __ATOMIC_RELAXED);
    if (served)
        *served = __atomic_load_n(&uct_veshm_help_served, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) void uct_veshm_help_view_stats(uint64_t *jobs) {
    *jobs = __atomic_load_n(&uct_veshm_help_viewed, __ATOMIC_RELAXED);
}

void uct_veshm_help_init(void) {
    (void)veshm_copy_help_kernel_helper_min();
}

__attribute__((visibility("default"))) int uct_veshm_help_kernel_measured(void) {
    return __atomic_load_n(&veshm_copy_help_kernel_measured, __ATOMIC_RELAXED) != 0;
}

int uct_veshm_help_wanted(uct_veshm_ep_t *ep, const void *buf, size_t length) {
    /* A helper reaches a buffer that is not VE memory of this process's
     * through the kernel (uct_veshm_help_copy). */
    return length >= UCT_VESHM_HELP_MIN &&
           ucs_derived_of(ep->super.super.iface, uct_veshm_iface_t)->config.help &&
           ep->am_tx.area != NULL && uct_veshm_am_tx_peer_open(&ep->am_tx) &&
           (veshm_copy_help_kernel_helper_wanted(length) ||
            uct_veshm_md_exported(buf, length) != 0);
}

static int uct_veshm_help_peer_alive(void *arg) {
    return uct_veshm_ep_peer_alive(arg);
}

ucs_status_t uct_veshm_help_copy(uct_veshm_ep_t *ep, uint8_t *host, uint64_t addr, void *buf,
                                 size_t length, int is_get) {
    struct veshm_copy_help *h = &uct_veshm_fifo_ctl(ep->am_tx.area)->help;
    struct veshm_copy_help_job job = {host, addr, buf, length, is_get, 0, 0, 0, 0};
    /* A buffer in VE memory this process shares (an OpenSHMEM symmetric
     * heap: the peer holds a key of it) is named as such, so that the peer
     * copies its chunks with memcpy rather than through the kernel. */
    job.buf_hmem = uct_veshm_md_exported(buf, length);
    if (job.buf_hmem != 0)
        job.buf_owner = veo_get_pid_from_hmem((void *)job.buf_hmem);
    int64_t helped = veshm_copy_help_origin(h, (uint64_t)veshm_copy_help_self(), &job, NULL,
                                            uct_veshm_help_peer_alive, ep);
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

/* The origin's buffer: only through an attachment a key of this process
 * holds, of that owner, whole within it. */
static uint8_t *uct_veshm_help_view(void *arg, int64_t owner, uint64_t hmem, uint64_t len) {
    size_t n = len;
    uint8_t *view = uct_veshm_peer_view((pid_t)owner, hmem, &n);
    if (view == NULL || n < len)
        return NULL;
    __atomic_fetch_add(&uct_veshm_help_viewed, 1, __ATOMIC_RELAXED);
    return view;
}

unsigned uct_veshm_help_progress(uct_veshm_iface_t *iface) {
    struct veshm_copy_help *h = &uct_veshm_fifo_ctl(iface->am_rx.area)->help;
    if (ucs_unlikely(iface->help_off))
        return 0;
    /* Its first check (veshm_copy_help_pending) is the one load every
     * progress call pays. */
    int n = veshm_copy_help_serve(h, uct_veshm_help_resolve, uct_veshm_help_view, NULL, NULL,
                                  &iface->help_off, &iface->help_served);
    if (ucs_likely(n == 0))
        return 0;
    if (iface->help_off)
        ucs_debug("veshm: the kernel refused to reach a peer's buffer: this interface helps no "
                  "more");
    __atomic_fetch_add(&uct_veshm_help_served, (uint64_t)n, __ATOMIC_RELAXED);
    return (unsigned)n;
}
