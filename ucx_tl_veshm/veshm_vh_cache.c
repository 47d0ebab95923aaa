/* Host-memory DMA registration cache: see veshm_vh_cache.h. */
#include "veshm_vh_cache.h"

#include <stdlib.h>

#include <ucs/debug/assert.h>
#include <ucs/debug/log.h>
#include <ucs/sys/math.h>

#include "veshm_platform.h"
#include "veshm_proc.h"

#define UCT_VESHM_VH_PAGE ((uintptr_t)4096)

static struct {
    int initialized;
    ucs_pgtable_t pgtable;
    ucs_list_link_t lru; /* cached regions no handle uses, oldest first */
    unsigned count;      /* cached regions */
} uct_veshm_vh_cache = {0};

static ucs_pgt_dir_t *uct_veshm_vh_pgd_alloc(const ucs_pgtable_t *pgtable) {
    void *p = NULL;
    return (posix_memalign(
                &p, UCS_PGT_ENTRY_MIN_ALIGN > sizeof(long) ? UCS_PGT_ENTRY_MIN_ALIGN : sizeof(long),
                sizeof(ucs_pgt_dir_t)) == 0)
               ? p
               : NULL;
}

static void uct_veshm_vh_pgd_release(const ucs_pgtable_t *pgtable, ucs_pgt_dir_t *pgdir) {
    free(pgdir);
}

static ucs_status_t uct_veshm_vh_cache_init(void) {
    if (uct_veshm_vh_cache.initialized)
        return UCS_OK;
    ucs_status_t status = ucs_pgtable_init(&uct_veshm_vh_cache.pgtable, uct_veshm_vh_pgd_alloc,
                                           uct_veshm_vh_pgd_release);
    if (status != UCS_OK)
        return status;
    ucs_list_head_init(&uct_veshm_vh_cache.lru);
    uct_veshm_vh_cache.count = 0;
    uct_veshm_vh_cache.initialized = 1;
    return UCS_OK;
}

/* Unregisters and frees a cached region no handle uses. */
static void uct_veshm_vh_evict(struct veo_proc_handle *h, uct_veshm_vh_region_t *r) {
    ucs_assert(r->cached && r->refs == 0);
    ucs_list_del(&r->lru);
    ucs_status_t status = ucs_pgtable_remove(&uct_veshm_vh_cache.pgtable, &r->super);
    ucs_assert_always(status == UCS_OK);
    --uct_veshm_vh_cache.count;
    if (h != NULL)
        (void)uct_veshm_platform_vh_unregister(h, r->vehva);
    free(r);
}

typedef struct {
    uct_veshm_vh_region_t *found[UCT_VESHM_VH_CACHE_MAX];
    unsigned count, busy;
} uct_veshm_vh_overlap_t;

static void uct_veshm_vh_collect(const ucs_pgtable_t *pgtable, ucs_pgt_region_t *pgt_region,
                                 void *arg) {
    uct_veshm_vh_overlap_t *o = arg;
    uct_veshm_vh_region_t *r = ucs_derived_of(pgt_region, uct_veshm_vh_region_t);
    if (r->refs > 0)
        ++o->busy;
    else if (o->count < UCT_VESHM_VH_CACHE_MAX)
        o->found[o->count++] = r;
}

/* Puts new region r in the cache if room can be made: unused regions it
 * overlaps go, and the least recently used one if the cache is full. */
static void uct_veshm_vh_try_cache(struct veo_proc_handle *h, uct_veshm_vh_region_t *r) {
    uct_veshm_vh_overlap_t o = {.count = 0, .busy = 0};
    ucs_pgtable_search_range(&uct_veshm_vh_cache.pgtable, r->super.start, r->super.end - 1,
                             uct_veshm_vh_collect, &o);
    if (o.busy > 0)
        return; /* a handle uses what it overlaps: r stays its handle's own */
    for (unsigned i = 0; i < o.count; ++i)
        uct_veshm_vh_evict(h, o.found[i]);
    if (uct_veshm_vh_cache.count >= UCT_VESHM_VH_CACHE_MAX) {
        if (ucs_list_is_empty(&uct_veshm_vh_cache.lru))
            return; /* every entry in use */
        uct_veshm_vh_evict(h, ucs_list_head(&uct_veshm_vh_cache.lru, uct_veshm_vh_region_t, lru));
    }
    if (ucs_pgtable_insert(&uct_veshm_vh_cache.pgtable, &r->super) != UCS_OK)
        return;
    r->cached = 1;
    ++uct_veshm_vh_cache.count;
}

ucs_status_t uct_veshm_vh_cache_get(struct veo_proc_handle *h, void *address, size_t length,
                                    uct_veshm_vh_region_t **region_p) {
    ucs_assert(uct_veshm_proc_is_locked());
    ucs_status_t status = uct_veshm_vh_cache_init();
    if (status != UCS_OK)
        return status;
    uintptr_t a = (uintptr_t)address, e = a + length;
    ucs_pgt_region_t *found = ucs_pgtable_lookup(&uct_veshm_vh_cache.pgtable, a);
    if (found != NULL && e <= found->end) {
        uct_veshm_vh_region_t *r = ucs_derived_of(found, uct_veshm_vh_region_t);
        if (r->refs++ == 0)
            ucs_list_del(&r->lru);
        *region_p = r;
        return UCS_OK;
    }
    uintptr_t start = ucs_align_down(a, UCT_VESHM_VH_PAGE);
    uintptr_t end = ucs_align_up(e, UCT_VESHM_VH_PAGE);
    uint64_t vehva;
    status = uct_veshm_platform_vh_register(h, (void *)start, end - start, &vehva);
    if (status == UCS_ERR_NO_MEMORY && !ucs_list_is_empty(&uct_veshm_vh_cache.lru)) {
        /* DMAATB full: make room with the oldest unused entry. */
        uct_veshm_vh_evict(h, ucs_list_head(&uct_veshm_vh_cache.lru, uct_veshm_vh_region_t, lru));
        status = uct_veshm_platform_vh_register(h, (void *)start, end - start, &vehva);
    }
    if (status != UCS_OK)
        return status;
    uct_veshm_vh_region_t *r = malloc(sizeof(*r));
    if (r == NULL) {
        (void)uct_veshm_platform_vh_unregister(h, vehva);
        return UCS_ERR_NO_MEMORY;
    }
    r->super.start = start;
    r->super.end = end;
    r->vehva = vehva;
    r->refs = 1;
    r->cached = 0;
    uct_veshm_vh_try_cache(h, r);
    *region_p = r;
    return UCS_OK;
}

void uct_veshm_vh_cache_put(struct veo_proc_handle *h, uct_veshm_vh_region_t *r) {
    ucs_assert(uct_veshm_proc_is_locked());
    ucs_assert(r->refs > 0);
    if (--r->refs > 0)
        return;
    if (r->cached) {
        ucs_list_add_tail(&uct_veshm_vh_cache.lru, &r->lru);
        return;
    }
    if (uct_veshm_platform_vh_unregister(h, r->vehva) != UCS_OK)
        ucs_debug("veshm: unregistering host memory 0x%lx failed: %m",
                  (unsigned long)r->super.start);
    free(r);
}

void uct_veshm_vh_cache_flush(struct veo_proc_handle *h) {
    if (!uct_veshm_vh_cache.initialized)
        return;
    while (!ucs_list_is_empty(&uct_veshm_vh_cache.lru))
        uct_veshm_vh_evict(h, ucs_list_head(&uct_veshm_vh_cache.lru, uct_veshm_vh_region_t, lru));
    ucs_assertv(uct_veshm_vh_cache.count == 0, "%u host registrations still in use",
                uct_veshm_vh_cache.count);
    ucs_pgtable_cleanup(&uct_veshm_vh_cache.pgtable);
    uct_veshm_vh_cache.initialized = 0;
}
