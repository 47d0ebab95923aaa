/* Registrations of host memory in the DMAATB of the transport's VE process,
 * kept after the memory handles that made them are gone: UCP registers every
 * zcopy buffer anew, and a registration costs two system calls. Regions are
 * whole 4 KiB pages in a ucs_pgtable (lookup by address); the ones no handle
 * uses are on an LRU list and make room when the cache or the DMAATB is full.
 * An entry maps host virtual addresses, so one that outlives its memory is
 * harmless: DMA only ever touches the buffers of live handles, which are
 * mapped. Callers hold the proc lock (veshm_proc.h) for all of it. */
#ifndef UCT_VESHM_VH_CACHE_H
#define UCT_VESHM_VH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/datastruct/list.h>
#include <ucs/datastruct/pgtable.h>
#include <ucs/type/status.h>

struct veo_proc_handle;

/* Regions kept at most (in use or not). */
#define UCT_VESHM_VH_CACHE_MAX 16

typedef struct uct_veshm_vh_region {
    ucs_pgt_region_t super; /* whole pages; in the page table when cached */
    ucs_list_link_t lru;    /* in the LRU list while cached and unused */
    uint64_t vehva;         /* of super.start */
    unsigned refs;          /* memory handles using it */
    int cached;             /* 0: a handle's own, unregistered with it */
} UCS_PGT_ENTRY_V_ALIGNED uct_veshm_vh_region_t;

/* Region covering [address, address+length), registering it if needed; the
 * caller takes a reference. */
ucs_status_t uct_veshm_vh_cache_get(struct veo_proc_handle *h, void *address, size_t length,
                                    uct_veshm_vh_region_t **region_p);
/* Drops a reference taken by uct_veshm_vh_cache_get. */
void uct_veshm_vh_cache_put(struct veo_proc_handle *h, uct_veshm_vh_region_t *region);
/* Unregisters every region (none may be in use); h NULL: only forgets them. */
void uct_veshm_vh_cache_flush(struct veo_proc_handle *h);

#endif
