/* veshm endpoint: RMA operations (handed to the operation engine, veshm_op.h),
 * atomics on the peer's memory, flush, fence, pending queue and peer
 * liveness. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "veshm_ep.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ucs/arch/atomic.h>
#include <ucs/arch/bitops.h>
#include <ucs/arch/cpu.h>
#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <uct/base/uct_iov.inl>
#include <ucs/time/time.h>

#include "veshm_help.h"
#include "veshm_op_int.h"
#include "veshm_pio.h"

/* The entry points UCP calls per operation start a cache line: in builds of
 * the same code, where the atomic add's entry fell decided whether an
 * OpenSHMEM add on lines the peer had just written cost 1.5x posix's or the
 * same, and on a line boundary it was fast in every build measured (the
 * builds, the figures and our reading: contrib/bench/README.md, shmem). */
#define UCT_VESHM_HOT_ENTRY UCS_V_ALIGNED(UCS_SYS_CACHE_LINE_SIZE)

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static unsigned uct_veshm_ep_report_failure(void *arg) {
    uct_ep_h tl_ep = arg;
    uct_iface_handle_ep_err(tl_ep->iface, tl_ep, UCS_ERR_ENDPOINT_TIMEOUT);
    return 1;
}

static int uct_veshm_ep_is_failure_report(const ucs_callbackq_elem_t *elem, void *arg) {
    return elem->cb == uct_veshm_ep_report_failure && elem->arg == arg;
}

static UCS_CLASS_INIT_FUNC(uct_veshm_ep_t, const uct_ep_params_t *params) {
    uct_veshm_iface_t *iface = ucs_derived_of(params->iface, uct_veshm_iface_t);
    UCT_EP_PARAMS_CHECK_DEV_IFACE_ADDRS(params);
    UCS_CLASS_CALL_SUPER_INIT(uct_base_ep_t, &iface->super);
    const uct_veshm_iface_addr_t *addr = (const uct_veshm_iface_addr_t *)params->iface_addr;
    self->peer_pid = addr->vh_pid;
    self->failed = 0;
    self->put_short_pio_max = (unsigned)iface->config.put_short_pio_max;
    self->ops_since_check = 0;
    self->next_check = 0;
    self->next_flush_check = 0;
    self->flushes_since_check = 0;
    ucs_status_t status = uct_ep_keepalive_init(&self->keepalive, self->peer_pid);
    if (status != UCS_OK)
        return status;
    status = uct_veshm_am_tx_connect(&self->am_tx, &addr->am);
    if (status != UCS_OK)
        return status;
    self->peer_fd = (int)syscall(SYS_pidfd_open, self->peer_pid, 0);
    ucs_list_add_tail(&iface->eps, &self->list);
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_veshm_ep_t) {
    uct_veshm_iface_t *iface = ucs_derived_of(self->super.super.iface, uct_veshm_iface_t);
    uct_veshm_ep_pending_purge(&self->super.super, NULL, NULL);
    ucs_callbackq_remove_if(&iface->super.worker->super.progress_q, uct_veshm_ep_is_failure_report,
                            self);
    ucs_list_del(&self->list);
    if (self->peer_fd >= 0)
        close(self->peer_fd);
    uct_veshm_am_tx_disconnect(&self->am_tx);
    (void)iface;
}

UCS_CLASS_DEFINE(uct_veshm_ep_t, uct_base_ep_t);
UCS_CLASS_DEFINE_NEW_FUNC(uct_veshm_ep_t, uct_ep_t, const uct_ep_params_t *);
UCS_CLASS_DEFINE_DELETE_FUNC(uct_veshm_ep_t, uct_ep_t);

/* From now on ep fails; the error handler hears of it once. */
static void uct_veshm_ep_set_failed(uct_veshm_ep_t *ep) {
    ep->failed = 1;
    ep->put_short_pio_max = 0;
    /* Reported from progress, not from inside the caller's operation: the
     * error handler may destroy ep. */
    uct_base_iface_t *iface = ucs_derived_of(ep->super.super.iface, uct_base_iface_t);
    ucs_callbackq_add_safe(&iface->worker->super.progress_q, uct_veshm_ep_report_failure, ep,
                           UCS_CALLBACKQ_FLAG_ONESHOT);
}

ucs_status_t uct_veshm_ep_invalidate(uct_ep_h tl_ep, unsigned flags) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    if (!ep->failed)
        uct_veshm_ep_set_failed(ep);
    return UCS_OK;
}

int uct_veshm_ep_peer_alive(uct_veshm_ep_t *ep) {
    if (ep->failed)
        return 0;
    int alive;
    if (ep->peer_fd >= 0) {
        struct pollfd p = {.fd = ep->peer_fd, .events = POLLIN};
        alive = poll(&p, 1, 0) == 0;
    } else {
        alive = kill(ep->peer_pid, 0) == 0 || errno == EPERM;
    }
    if (!alive) {
        ucs_debug("veshm: peer process %d is gone", (int)ep->peer_pid);
    } else if (!uct_veshm_am_tx_peer_open(&ep->am_tx)) {
        ucs_debug("veshm: the peer interface of process %d is closed", (int)ep->peer_pid);
        alive = 0;
    }
    if (!alive)
        uct_veshm_ep_set_failed(ep);
    return alive;
}

static inline uct_veshm_iface_t *uct_veshm_ep_iface(uct_veshm_ep_t *ep) {
    return ucs_derived_of(ep->super.super.iface, uct_veshm_iface_t);
}

static UCS_F_NOINLINE ucs_status_t uct_veshm_ep_put_short_slow(uct_veshm_ep_t *ep,
                                                               const void *buffer, unsigned length,
                                                               uint64_t remote_addr,
                                                               uct_rkey_t rkey) {
    /* The arguments first: a zero-length put may come with no buffer and
     * UCT_INVALID_RKEY, which must not be looked at. */
    UCT_CHECK_LENGTH(length, 0, uct_veshm_ep_iface(ep)->config.max_short, "put_short");
    if (length == 0)
        return UCS_OK;
    ucs_status_t status = uct_veshm_ep_check_peer(ep);
    if (status != UCS_OK)
        return status;
    UCT_TL_EP_STAT_OP(&ep->super, PUT, SHORT, length);
    return uct_veshm_op_put_short(&uct_veshm_ep_iface(ep)->engine, buffer, length, remote_addr,
                                  (uct_veshm_rkey_t *)rkey);
}

/* A put_short of more than 64 bytes through the host view: memcpy, out of
 * line, so that the small ones keep nothing across a call. */
static UCS_F_NOINLINE ucs_status_t uct_veshm_ep_put_short_memcpy(uct_veshm_ep_t *ep, uint8_t *host,
                                                                 const void *buffer,
                                                                 unsigned length) {
    UCT_TL_EP_STAT_OP(&ep->super, PUT, SHORT, length);
    memcpy(host, buffer, length);
    uct_veshm_pio_count(0, length);
    return UCS_OK;
}

/* The usual put_short, one store through the host view of the region's run,
 * calls nothing and saves no registers: whatever else may be due (a failed
 * peer, a fence, staging, an empty put, more than 64 bytes) is out of line.
 * It reads three lines: the endpoint's first (the interface and the largest
 * put_short, 0 once failed), the engine's hold, the key's run. perf,
 * OpenSHMEM 8-byte putmem + quiet: it cost 2.7x the store of posix's
 * put_short; OSU's osu_oshm_put_mr of 1-64 bytes: 0.83-0.90x posix's rate
 * while it also read the configuration's line and a second line of the key,
 * and kept a stack frame for the memcpy. */
UCT_VESHM_HOT_ENTRY ucs_status_t uct_veshm_ep_put_short(uct_ep_h tl_ep, const void *buffer,
                                                        unsigned length, uint64_t remote_addr,
                                                        uct_rkey_t rkey) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_iface_t *iface = uct_veshm_ep_iface(ep);
    if (ucs_likely(length - 1u < ep->put_short_pio_max &&
                   uct_veshm_engine_may_copy_now(&iface->engine))) {
        uint8_t *host = uct_veshm_pio_run((uct_veshm_rkey_t *)rkey, remote_addr, length, 1);
        if (ucs_likely(host != NULL)) {
            if (length > UCT_VESHM_PIO_INLINE_MAX)
                return uct_veshm_ep_put_short_memcpy(ep, host, buffer, length);
            UCT_TL_EP_STAT_OP(&ep->super, PUT, SHORT, length);
            uct_veshm_pio_copy(host, buffer, length);
            uct_veshm_pio_count(0, length);
            return UCS_OK;
        }
    }
    return uct_veshm_ep_put_short_slow(ep, buffer, length, remote_addr, rkey);
}

ssize_t uct_veshm_ep_put_bcopy(uct_ep_h tl_ep, uct_pack_callback_t pack_cb, void *arg,
                               uint64_t remote_addr, uct_rkey_t rkey) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    ucs_status_t status = uct_veshm_ep_check_peer(ep);
    if (status != UCS_OK)
        return status;
    ssize_t length = uct_veshm_op_put_bcopy(&uct_veshm_ep_iface(ep)->engine, pack_cb, arg,
                                            remote_addr, (uct_veshm_rkey_t *)rkey);
    if (length >= 0) {
        UCT_TL_EP_STAT_OP(&ep->super, PUT, BCOPY, length);
    }
    return length;
}

static ucs_status_t uct_veshm_ep_zcopy(uct_ep_h tl_ep, int is_get, const uct_iov_t *iov,
                                       size_t iovcnt, uint64_t remote_addr, uct_rkey_t rkey,
                                       uct_completion_t *comp) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    UCT_CHECK_IOV_SIZE(iovcnt, (size_t)UCT_VESHM_MAX_IOV, is_get ? "get_zcopy" : "put_zcopy");
    if (uct_iov_total_length(iov, iovcnt) == 0)
        return UCS_OK; /* nothing to move: the key is not looked at */
    ucs_status_t status = uct_veshm_ep_check_peer(ep);
    if (status != UCS_OK)
        return status;
    /* One large piece the calling thread would copy alone: the peer helps. */
    uct_veshm_engine_t *eng = &uct_veshm_ep_iface(ep)->engine;
    if (iovcnt == 1 && iov->count <= 1 && iov->length <= eng->config.pio_max &&
        uct_veshm_help_wanted(ep, iov->buffer, iov->length) && uct_veshm_engine_may_copy_now(eng)) {
        uint8_t *host =
            uct_veshm_pio_span((uct_veshm_rkey_t *)rkey, remote_addr, iov->length, !is_get);
        if (host != NULL) {
            status = uct_veshm_help_copy(ep, host, remote_addr, iov->buffer, iov->length, is_get);
            if (status == UCS_OK)
                uct_veshm_pio_count(is_get, iov->length);
            return status;
        }
    }
    return uct_veshm_op_zcopy(&uct_veshm_ep_iface(ep)->engine, is_get, iov, iovcnt, remote_addr,
                              (uct_veshm_rkey_t *)rkey, comp);
}

ucs_status_t uct_veshm_ep_put_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov, size_t iovcnt,
                                    uint64_t remote_addr, uct_rkey_t rkey, uct_completion_t *comp) {
    UCT_TL_EP_STAT_OP(ucs_derived_of(tl_ep, uct_base_ep_t), PUT, ZCOPY,
                      uct_iov_total_length(iov, iovcnt));
    return uct_veshm_ep_zcopy(tl_ep, 0, iov, iovcnt, remote_addr, rkey, comp);
}

ucs_status_t uct_veshm_ep_get_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov, size_t iovcnt,
                                    uint64_t remote_addr, uct_rkey_t rkey, uct_completion_t *comp) {
    UCT_TL_EP_STAT_OP(ucs_derived_of(tl_ep, uct_base_ep_t), GET, ZCOPY,
                      uct_iov_total_length(iov, iovcnt));
    return uct_veshm_ep_zcopy(tl_ep, 1, iov, iovcnt, remote_addr, rkey, comp);
}

static UCS_F_NOINLINE ucs_status_t uct_veshm_ep_get_bcopy_slow(
    uct_veshm_ep_t *ep, uct_unpack_callback_t unpack_cb, void *arg, size_t length,
    uint64_t remote_addr, uct_rkey_t rkey, uct_completion_t *comp) {
    uct_veshm_iface_t *iface = uct_veshm_ep_iface(ep);
    UCT_CHECK_LENGTH(length, 0, iface->config.max_bcopy, "get_bcopy");
    ucs_status_t status = uct_veshm_ep_check_peer(ep);
    if (status != UCS_OK)
        return status;
    UCT_TL_EP_STAT_OP(&ep->super, GET, BCOPY, length);
    return uct_veshm_op_get_bcopy(&iface->engine, unpack_cb, arg, length, remote_addr,
                                  (uct_veshm_rkey_t *)rkey, comp);
}

/* The usual get_bcopy, one load through the host view of the region's run,
 * calls nothing but unpack_cb, and counts before it, so that this path saves
 * few registers; the rest is out of line, as put_short's (cachegrind,
 * OpenSHMEM 8-byte getmem: 65 instructions in the transport with six
 * registers saved when it was one function, 36 now; posix's get_bcopy 11). */
UCT_VESHM_HOT_ENTRY ucs_status_t uct_veshm_ep_get_bcopy(uct_ep_h tl_ep,
                                                        uct_unpack_callback_t unpack_cb, void *arg,
                                                        size_t length, uint64_t remote_addr,
                                                        uct_rkey_t rkey, uct_completion_t *comp) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_iface_t *iface = uct_veshm_ep_iface(ep);
    if (ucs_likely(length <= iface->config.get_bcopy_pio_max && uct_veshm_ep_may_go_fast(ep) &&
                   uct_veshm_engine_may_copy_now(&iface->engine))) {
        const uint8_t *host = uct_veshm_pio_run((uct_veshm_rkey_t *)rkey, remote_addr, length, 0);
        if (ucs_likely(host != NULL)) {
            UCT_TL_EP_STAT_OP(&ep->super, GET, BCOPY, length);
            uct_veshm_pio_count(1, length);
            unpack_cb(arg, host, length);
            return UCS_OK;
        }
    }
    return uct_veshm_ep_get_bcopy_slow(ep, unpack_cb, arg, length, remote_addr, rkey, comp);
}

/* ---- atomics: CPU atomics on the host view of the peer's VE memory ---- */

/* The word of an atomic outside the usual case (not in the key's run of host
 * views, or the atomic must wait or fail); NULL with *status set when there
 * is none. */
static void *uct_veshm_atomic_ptr_slow(uct_veshm_ep_t *ep, uint64_t remote_addr,
                                       uct_veshm_rkey_t *k, size_t size, ucs_status_t *status) {
    const veshm_rkey_info_t *i = &k->info;
    *status = uct_veshm_ep_check_peer(ep);
    if (*status != UCS_OK)
        return NULL;
    if (!uct_veshm_engine_may_copy_now(&uct_veshm_ep_iface(ep)->engine)) {
        *status = UCS_ERR_NO_RESOURCE;
        return NULL;
    }
    if (remote_addr < i->region_addr || remote_addr - i->region_addr > i->region_len - size ||
        (remote_addr & (size - 1)) != 0) {
        *status = UCS_ERR_INVALID_PARAM;
        return NULL;
    }
    uint64_t rel = i->region_hmem + (remote_addr - i->region_addr) - i->area_hmem;
    uct_veshm_attach_t *e = uct_veshm_rkey_area(k, (unsigned)(rel >> ucs_ilog2(i->granule)));
    if (e == NULL) {
        *status = UCS_ERR_NO_MEMORY;
        return NULL;
    }
    if (e->host == NULL || !e->writable) {
        *status = UCS_ERR_INVALID_ADDR;
        return NULL;
    }
    return e->host + (rel & (i->granule - 1));
}

/* The word of an atomic in the usual case, a word in the key's run of host
 * views of a peer not known to be gone with nothing to wait for; NULL
 * otherwise. A few loads of the key, the endpoint and the engine: a 32-bit
 * fetch-add through UCP and OpenSHMEM takes 17.2-17.6 ns here (posix
 * 16.7-17.1), where the walk to the attachment with its checks once cost 8
 * ns of 30-45 (perf, against UCX's sm). */
static UCS_F_ALWAYS_INLINE void *uct_veshm_atomic_fast(uct_veshm_ep_t *ep, uint64_t remote_addr,
                                                       uct_rkey_t rkey, size_t size) {
    uint8_t *p = uct_veshm_pio_run((uct_veshm_rkey_t *)rkey, remote_addr, size, 1);
    if (ucs_likely(p != NULL && (remote_addr & (size - 1)) == 0 && uct_veshm_ep_may_go_fast(ep) &&
                   uct_veshm_engine_may_copy_now(&uct_veshm_ep_iface(ep)->engine)))
        return p;
    return NULL;
}

#define UCT_VESHM_FOP(_bits)                                                                       \
    static UCS_F_ALWAYS_INLINE uint##_bits##_t uct_veshm_fop##_bits(                               \
        unsigned opcode, uint##_bits##_t *p, uint##_bits##_t v) {                                  \
        switch (opcode) {                                                                          \
        case UCT_ATOMIC_OP_ADD:                                                                    \
            return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);                                     \
        case UCT_ATOMIC_OP_AND:                                                                    \
            return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);                                     \
        case UCT_ATOMIC_OP_OR:                                                                     \
            return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);                                      \
        case UCT_ATOMIC_OP_XOR:                                                                    \
            return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);                                     \
        default: /* UCT_ATOMIC_OP_SWAP */                                                          \
            return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);                                    \
        }                                                                                          \
    }                                                                                              \
    static UCS_F_ALWAYS_INLINE uint##_bits##_t uct_veshm_cswap##_bits(                             \
        uint##_bits##_t *p, uint##_bits##_t compare, uint##_bits##_t swap) {                       \
        __atomic_compare_exchange_n(p, &compare, swap, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);     \
        return compare;                                                                            \
    }

UCT_VESHM_FOP(32)
UCT_VESHM_FOP(64)

enum { UCT_VESHM_ATOMIC_POST, UCT_VESHM_ATOMIC_FETCH, UCT_VESHM_ATOMIC_CSWAP };

/* Any atomic outside the usual case, out of line and called last, so that
 * the usual case keeps no stack frame (OpenSHMEM's atomic add, 500 in a
 * row: it had one, and a status in memory, when the pointer and the status
 * came back from one call). */
static UCS_F_NOINLINE ucs_status_t uct_veshm_atomic_slow(uct_veshm_ep_t *ep, uint64_t remote_addr,
                                                         uct_rkey_t rkey, unsigned size, int kind,
                                                         unsigned opcode, uint64_t value,
                                                         uint64_t compare, void *result) {
    ucs_status_t status;
    void *p = uct_veshm_atomic_ptr_slow(ep, remote_addr, (uct_veshm_rkey_t *)rkey, size, &status);
    if (p == NULL)
        return status;
    if (size == 4) {
        uint32_t r = kind == UCT_VESHM_ATOMIC_CSWAP
                         ? uct_veshm_cswap32(p, (uint32_t)compare, (uint32_t)value)
                         : uct_veshm_fop32(opcode, p, (uint32_t)value);
        if (kind != UCT_VESHM_ATOMIC_POST)
            *(uint32_t *)result = r;
    } else {
        uint64_t r = kind == UCT_VESHM_ATOMIC_CSWAP ? uct_veshm_cswap64(p, compare, value)
                                                    : uct_veshm_fop64(opcode, p, value);
        if (kind != UCT_VESHM_ATOMIC_POST)
            *(uint64_t *)result = r;
    }
    UCT_TL_EP_STAT_ATOMIC(&ep->super);
    return UCS_OK;
}

#define UCT_VESHM_ATOMIC_OPS(_bits)                                                                \
    UCT_VESHM_HOT_ENTRY ucs_status_t uct_veshm_ep_atomic##_bits##_post(                            \
        uct_ep_h tl_ep, unsigned opcode, uint##_bits##_t value, uint64_t remote_addr,              \
        uct_rkey_t rkey) {                                                                         \
        uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);                                \
        uint##_bits##_t *p = uct_veshm_atomic_fast(ep, remote_addr, rkey, _bits / 8);              \
        if (ucs_unlikely(p == NULL))                                                               \
            return uct_veshm_atomic_slow(ep, remote_addr, rkey, _bits / 8, UCT_VESHM_ATOMIC_POST,  \
                                         opcode, value, 0, NULL);                                  \
        uct_veshm_fop##_bits(opcode, p, value);                                                    \
        UCT_TL_EP_STAT_ATOMIC(&ep->super);                                                         \
        return UCS_OK;                                                                             \
    }                                                                                              \
    UCT_VESHM_HOT_ENTRY ucs_status_t uct_veshm_ep_atomic##_bits##_fetch(                           \
        uct_ep_h tl_ep, unsigned opcode, uint##_bits##_t value, uint##_bits##_t *result,           \
        uint64_t remote_addr, uct_rkey_t rkey, uct_completion_t *comp) {                           \
        uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);                                \
        uint##_bits##_t *p = uct_veshm_atomic_fast(ep, remote_addr, rkey, _bits / 8);              \
        if (ucs_unlikely(p == NULL))                                                               \
            return uct_veshm_atomic_slow(ep, remote_addr, rkey, _bits / 8, UCT_VESHM_ATOMIC_FETCH, \
                                         opcode, value, 0, result);                                \
        *result = uct_veshm_fop##_bits(opcode, p, value);                                          \
        UCT_TL_EP_STAT_ATOMIC(&ep->super);                                                         \
        return UCS_OK;                                                                             \
    }                                                                                              \
    UCT_VESHM_HOT_ENTRY ucs_status_t uct_veshm_ep_atomic_cswap##_bits(                             \
        uct_ep_h tl_ep, uint##_bits##_t compare, uint##_bits##_t swap, uint64_t remote_addr,       \
        uct_rkey_t rkey, uint##_bits##_t *result, uct_completion_t *comp) {                        \
        uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);                                \
        uint##_bits##_t *p = uct_veshm_atomic_fast(ep, remote_addr, rkey, _bits / 8);              \
        if (ucs_unlikely(p == NULL))                                                               \
            return uct_veshm_atomic_slow(ep, remote_addr, rkey, _bits / 8, UCT_VESHM_ATOMIC_CSWAP, \
                                         0, swap, compare, result);                                \
        *result = uct_veshm_cswap##_bits(p, compare, swap);                                        \
        UCT_TL_EP_STAT_ATOMIC(&ep->super);                                                         \
        return UCS_OK;                                                                             \
    }

UCT_VESHM_ATOMIC_OPS(32)
UCT_VESHM_ATOMIC_OPS(64)

/* ---- flush, fence, check, pending ---- */

ucs_status_t uct_veshm_ep_flush(uct_ep_h tl_ep, unsigned flags, uct_completion_t *comp) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_iface_t *iface = uct_veshm_ep_iface(ep);
    /* A peer that died makes flush fail (its memory stays attached, so the
     * transfers themselves would still succeed). Checked at most every
     * millisecond: MPI flushes often. The clock is read every 16th flush
     * only: in a virtual machine reading the TSC costs as much as the rest
     * of a flush (perf, MPI_Put + MPI_Win_flush of 8 bytes). */
    if (ucs_unlikely(ep->failed))
        return UCS_ERR_ENDPOINT_TIMEOUT;
    if (ucs_unlikely(++ep->flushes_since_check >= 16)) {
        ep->flushes_since_check = 0;
        ucs_time_t now = ucs_get_time();
        if (now >= ep->next_flush_check) {
            ep->next_flush_check = now + ucs_time_from_msec(1);
            if (!uct_veshm_ep_peer_alive(ep))
                return UCS_ERR_ENDPOINT_TIMEOUT;
        }
    }
    ucs_status_t status = uct_veshm_engine_flush(&iface->engine, comp);
    if (status == UCS_OK) {
        UCT_TL_EP_STAT_FLUSH(&ep->super);
    } else if (status == UCS_INPROGRESS) {
        UCT_TL_EP_STAT_FLUSH_WAIT(&ep->super);
    }
    return status;
}

ucs_status_t uct_veshm_ep_fence(uct_ep_h tl_ep, unsigned flags) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_iface_t *iface = uct_veshm_ep_iface(ep);
    /* Fences the whole interface (its operations are not kept per endpoint).
     * Unlike uct_iface_fence it finishes nothing now: UCP fences an endpoint
     * only before another operation on the same lane, which the fence
     * orders here. */
    uct_veshm_engine_fence(&iface->engine, 0);
    UCT_TL_EP_STAT_FENCE(&ep->super);
    return UCS_OK;
}

ucs_status_t uct_veshm_ep_check(uct_ep_h tl_ep, unsigned flags, uct_completion_t *comp) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    UCT_EP_KEEPALIVE_CHECK_PARAM(flags, comp);
    /* A dead peer is reported by the liveness check itself (once); the
     * keepalive's start time also catches a reused pid. */
    if (!ep->failed && uct_veshm_ep_peer_alive(ep))
        uct_ep_keepalive_check(tl_ep, &ep->keepalive, ep->peer_pid, flags, comp);
    return UCS_OK;
}

ucs_status_t uct_veshm_ep_pending_add(uct_ep_h tl_ep, uct_pending_req_t *req, unsigned flags) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_engine_t *eng = &uct_veshm_ep_iface(ep)->engine;
    /* An active message waits for room in the peer's FIFO even when the
     * engine could start it, and nothing can start to a failed peer: BUSY
     * would make the caller retry at once (the error handler purges). */
    ucs_status_t status = (!ep->failed && uct_veshm_am_tx_has_room(&ep->am_tx))
                              ? uct_veshm_engine_pending_add(eng, ep, req)
                              : uct_veshm_engine_pending_push(eng, ep, req);
    if (status == UCS_OK) {
        UCT_TL_EP_STAT_PEND(&ep->super);
    }
    return status;
}

void uct_veshm_ep_pending_purge(uct_ep_h tl_ep, uct_pending_purge_callback_t cb, void *arg) {
    uct_veshm_ep_t *ep = ucs_derived_of(tl_ep, uct_veshm_ep_t);
    uct_veshm_engine_pending_purge(&uct_veshm_ep_iface(ep)->engine, ep, cb, arg);
}
