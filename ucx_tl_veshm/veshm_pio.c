/* Puts and gets through the host view: see veshm_pio.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_pio.h"

#include <string.h>

#include <ucs/sys/math.h>
#include <uct/base/uct_iface.h>
#include <uct/base/uct_iov.inl>

#include "copy_pieces.h"
#include "veshm_op.h"

uint64_t uct_veshm_pio_bytes[2];

__attribute__((visibility("default"))) void uct_veshm_pio_stats(uint64_t *put_bytes,
                                                                uint64_t *get_bytes) {
    if (put_bytes)
        *put_bytes = __atomic_load_n(&uct_veshm_pio_bytes[0], __ATOMIC_RELAXED);
    if (get_bytes)
        *get_bytes = __atomic_load_n(&uct_veshm_pio_bytes[1], __ATOMIC_RELAXED);
}

/* Walks iov against the peer's memory from addr in pieces one attachment
 * holds; copy 0 only checks that every piece has a host view. */
static ucs_status_t uct_veshm_pio_walk(uct_veshm_rkey_t *rkey, int is_get, const uct_iov_t *iov,
                                       size_t iovcnt, uint64_t addr, int copy) {
    for (size_t i = 0; i < iovcnt; ++i) {
        size_t total = iov[i].length * ucs_max(iov[i].count, 1u);
        uint8_t *local = iov[i].buffer;
        while (total > 0) {
            size_t n = total;
            uint64_t vehva;
            uint8_t *host;
            int writable;
            if (uct_veshm_remote_at(rkey, addr, &n, &vehva, &host, &writable) != UCS_OK ||
                host == NULL || (!is_get && !writable) || n == 0)
                return UCS_ERR_UNREACHABLE;
            if (copy) {
                if (is_get)
                    veshm_copy_pieces(local, host, n);
                else
                    veshm_copy_pieces(host, local, n);
            }
            local += n;
            addr += n;
            total -= n;
        }
    }
    return UCS_OK;
}

ucs_status_t uct_veshm_pio_iov(uct_veshm_rkey_t *rkey, int is_get, const uct_iov_t *iov,
                               size_t iovcnt, uint64_t addr) {
    ucs_status_t status = uct_veshm_pio_walk(rkey, is_get, iov, iovcnt, addr, 0);
    if (status != UCS_OK)
        return status;
    uct_veshm_pio_walk(rkey, is_get, iov, iovcnt, addr, 1);
    uct_veshm_pio_count(is_get, uct_iov_total_length(iov, iovcnt));
    return UCS_OK;
}
