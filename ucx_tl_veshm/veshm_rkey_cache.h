/* Cache of VEHVA attachments: VESHM areas of other VE processes attached with
 * VE_REGISTER_VEHVA, and areas of our own VE process registered to DMAATB.
 * Keyed by (owner pid, area HMEM address, size, owner's area epoch); a
 * repeated lookup of the same area takes a reference, not a new attachment.
 *
 * An attachment nobody references any more stays (up to
 * UCT_VESHM_RKEY_CACHE_KEEP of them, least recently used first out): UCP
 * unpacks the sender's key for every rendezvous message, and attaching anew
 * each time (a round trip to the owner, a mapping, its page faults) cost more
 * than moving 256 KiB. The epoch makes reuse safe: it changes whenever the
 * owner closes an area, so a key names the same opening of an area as a kept
 * attachment only if nothing was closed in between. Unreferenced attachments
 * go when the DMAATB fills, when their owner is gone, or when a key of the
 * same area with another epoch shows they are stale. */
#ifndef UCT_VESHM_RKEY_CACHE_H
#define UCT_VESHM_RKEY_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ucs/type/status.h>

struct veo_proc_handle;

typedef struct uct_veshm_attach {
    pid_t owner_pid;
    uint64_t hmem;  /* area (HMEM address of the owner) */
    uint64_t size;  /* area size */
    uint64_t epoch; /* owner's area epoch of the key that attached it */
    uint64_t vehva; /* in our VE process */
    uint8_t *host;  /* host view of the attachment */
    int writable;
    int local; /* own memory: registered, not attached */
    unsigned refs;
    uint64_t last_use; /* cache tick of the last release */
} uct_veshm_attach_t;

#define UCT_VESHM_RKEY_CACHE_KEEP 64

typedef struct uct_veshm_rkey_cache {
    uct_veshm_attach_t **entries;
    unsigned count, capacity;
    unsigned unused; /* entries with no reference, kept for reuse */
    uint64_t tick;
    uint64_t hits, misses; /* statistics, for tests */
} uct_veshm_rkey_cache_t;

/* Callers hold the proc lock. */
ucs_status_t uct_veshm_rkey_cache_get(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                                      pid_t own_pid, pid_t owner_pid, uint64_t hmem, uint64_t size,
                                      int syncnum, long long mode_flag, uint64_t epoch,
                                      uct_veshm_attach_t **entry_p);
void uct_veshm_rkey_cache_put(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                              uct_veshm_attach_t *entry);
/* Detaches the unreferenced entries of owner_pid inside [hmem, hmem+size):
 * our own area is closing. */
void uct_veshm_rkey_cache_drop_unused(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                                      pid_t owner_pid, uint64_t hmem, uint64_t size);
void uct_veshm_rkey_cache_cleanup(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc);

/* For Open MPI's one-sided routing library (exported, looked up with dlsym):
 * the writable host view, in this process, of the VE memory at HMEM address
 * hmem of VE process owner_pid, when an area attached for a remote key holds
 * it and a key still references that area; NULL otherwise. *len is the
 * length wanted on entry, on return how much of it the view reaches (up to
 * the end of that area: the next area has a view of its own). The view stays
 * valid while that key stays unpacked (an osc/ucx window's keys: until the
 * window is freed). */
void *uct_veshm_peer_view(pid_t owner_pid, uint64_t hmem, size_t *len);

/* Counters for tests (exported): attach calls made and lookups served. */
void uct_veshm_rkey_cache_stats(uint64_t *hits, uint64_t *misses);

#endif
