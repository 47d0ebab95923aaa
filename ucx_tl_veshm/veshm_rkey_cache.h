/* Cache of VEHVA attachments: VESHM areas of other VE processes attached with
 * VE_REGISTER_VEHVA, and areas of our own VE process registered to DMAATB.
 * Keyed by (owner pid, area HMEM address); a repeated lookup of the same area
 * takes a reference, not a new attachment. The last release detaches. */
#ifndef UCT_VESHM_RKEY_CACHE_H
#define UCT_VESHM_RKEY_CACHE_H

#include <stdint.h>
#include <sys/types.h>

#include <ucs/type/status.h>

struct veo_proc_handle;

typedef struct uct_veshm_attach {
    pid_t owner_pid;
    uint64_t hmem;  /* area (HMEM address of the owner) */
    uint64_t size;  /* area size */
    uint64_t vehva; /* in our VE process */
    uint8_t *host;  /* host view of the attachment */
    int writable;
    int local; /* own memory: registered, not attached */
    unsigned refs;
} uct_veshm_attach_t;

typedef struct uct_veshm_rkey_cache {
    uct_veshm_attach_t **entries;
    unsigned count, capacity;
    uint64_t hits, misses; /* statistics, for tests */
} uct_veshm_rkey_cache_t;

/* Callers hold the proc lock. */
ucs_status_t uct_veshm_rkey_cache_get(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                                      pid_t own_pid, pid_t owner_pid, uint64_t hmem, uint64_t size,
                                      int syncnum, long long mode_flag,
                                      uct_veshm_attach_t **entry_p);
void uct_veshm_rkey_cache_put(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                              uct_veshm_attach_t *entry);
void uct_veshm_rkey_cache_cleanup(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc);

/* Counters for tests (exported): attach calls made and lookups served. */
void uct_veshm_rkey_cache_stats(uint64_t *hits, uint64_t *misses);

#endif
