/* Performance of VE DMA on this machine, as reported to UCX. UCP chooses lanes
 * on both sides of a connection from both sides' figures, and aborts when the
 * two choices differ, so every process of a user on a host must report the
 * same figures: the first process to open an interface measures and records
 * the result for the host (per user and boot), the others read it.
 *
 * The record, veshm-ucx-perf-v1-<uid>-<boot>, is the first of these that is a
 * regular file owned by the user (created if missing):
 *   1. in $XDG_RUNTIME_DIR, if that is a directory of the user that nobody
 *      else may write;
 *   2. in /tmp (another user can take that name first);
 *   3. in the user's home directory from the password database (getpwuid),
 *      as a dot file, which no other user can take.
 * Every process of the user walks the same order over the same files, so
 * they all end on the same record. Only where none can be used does each
 * process measure for itself. */
#ifndef UCT_VESHM_PERF_H
#define UCT_VESHM_PERF_H

#include <stddef.h>
#include <stdint.h>

struct veo_proc_handle;

typedef struct uct_veshm_perf {
    double latency;   /* seconds per small transfer (post + poll) */
    double overhead;  /* seconds of the initiator's CPU per operation */
    double bandwidth; /* bytes per second of large transfers */
} uct_veshm_perf_t;

/* VE DMA buffer of proc the measurement may overwrite: size bytes at VEHVA
 * vehva, host view host. */
typedef struct uct_veshm_perf_buffer {
    struct veo_proc_handle *proc;
    uint64_t vehva;
    uint8_t *host;
    size_t size;
    size_t chunk; /* bytes per DMA descriptor, as the data path posts them */
} uct_veshm_perf_buffer_t;

/* The host's figures: read from the record, or measured with buf (and
 * recorded) the first time. Measured once per process. */
void uct_veshm_perf_get(const uct_veshm_perf_buffer_t *buf, uct_veshm_perf_t *perf);

#endif
