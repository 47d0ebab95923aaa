/* The transport's VE process and its open VESHM areas: see veshm_proc.h. */
#include "veshm_proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/sys/sys.h>

#include "ve_offload.h"
#include "veo_veshm.h"
#include "veshm_platform.h"
#include "veshm_vh_cache.h"

uct_veshm_proc_t uct_veshm_proc = {.lock = PTHREAD_MUTEX_INITIALIZER};

int uct_veshm_select_node(const char *cfg) {
    int count = uct_veshm_platform_node_count();
    char *end;
    if (cfg != NULL && strcmp(cfg, "auto") != 0) {
        long n = strtol(cfg, &end, 10);
        if (*cfg != '\0' && *end == '\0' && n >= 0 && n < count)
            return (int)n;
        ucs_warn("veshm: UCX_VESHM_NODE=%s is no VE node (0..%d), using auto", cfg, count - 1);
    }
    int env = uct_veshm_platform_env_node(); /* VE_NODE_NUMBER, parsed by libveo */
    if (env >= 0 && env < count)
        return env;
    for (int n = 0; n < count; ++n)
        if (uct_veshm_platform_proc_find(n) != NULL)
            return n;
    return 0;
}

ucs_status_t uct_veshm_proc_get(int node) {
    ucs_status_t status = UCS_OK;
    uct_veshm_proc_lock();
    if (uct_veshm_proc.handle == NULL) {
        struct veo_proc_handle *h = uct_veshm_platform_proc_find(node);
        int created = 0;
        if (h == NULL) {
            h = veo_proc_create(node);
            created = 1;
        }
        uct_veshm_node_info_t info;
        if (h == NULL || uct_veshm_platform_node_info(node, &info) != UCS_OK) {
            ucs_error("veshm: no VE process on VE node %d: %m", node);
            if (h != NULL && created)
                veo_proc_destroy(h);
            status = UCS_ERR_NO_DEVICE;
            goto out;
        }
        uct_veshm_proc.handle = h;
        uct_veshm_proc.created = created;
        uct_veshm_proc.node = node;
        uct_veshm_proc.ve_pid = uct_veshm_platform_proc_pid(h);
        uct_veshm_proc.granule = info.granule;
        /* Random, so that a later process with the same pid never matches. */
        uct_veshm_proc.area_epoch = ucs_generate_uuid((uintptr_t)h);
        ucs_debug("veshm: %s VE process %d on node %d", created ? "started" : "using",
                  (int)uct_veshm_proc.ve_pid, node);
    } else if (node != uct_veshm_proc.node) {
        ucs_debug("veshm: node %d requested, the process already works on node %d", node,
                  uct_veshm_proc.node);
    }
    ++uct_veshm_proc.users;
out:
    uct_veshm_proc_unlock();
    return status;
}

void uct_veshm_proc_ref_locked(void) {
    ucs_assert(uct_veshm_proc_is_locked());
    ucs_assert(uct_veshm_proc.handle != NULL && uct_veshm_proc.users > 0);
    ++uct_veshm_proc.users;
}

void uct_veshm_proc_put_locked(void) {
    ucs_assert(uct_veshm_proc_is_locked());
    ucs_assert(uct_veshm_proc.users > 0);
    if (--uct_veshm_proc.users > 0)
        return;
    uct_veshm_vh_cache_flush(uct_veshm_proc.handle);
    uct_veshm_rkey_cache_cleanup(&uct_veshm_proc.cache, uct_veshm_proc.handle);
    if (uct_veshm_proc.created)
        veo_proc_destroy(uct_veshm_proc.handle);
    free(uct_veshm_proc.open_areas.hmem);
    free(uct_veshm_proc.open_areas.refs);
    memset(&uct_veshm_proc.open_areas, 0, sizeof(uct_veshm_proc.open_areas));
    uct_veshm_proc.handle = NULL;
}

void uct_veshm_proc_put(void) {
    uct_veshm_proc_lock();
    uct_veshm_proc_put_locked();
    uct_veshm_proc_unlock();
}

ucs_status_t uct_veshm_area_open(uint64_t hmem) {
    typeof(uct_veshm_proc.open_areas) *t = &uct_veshm_proc.open_areas;
    ucs_assert(uct_veshm_proc_is_locked());
    for (unsigned i = 0; i < t->count; ++i) {
        if (t->hmem[i] == hmem) {
            ++t->refs[i];
            return UCS_OK;
        }
    }
    if (t->count == t->capacity) {
        unsigned cap = t->capacity ? 2 * t->capacity : 16;
        uint64_t *h = realloc(t->hmem, cap * sizeof(*h));
        if (h == NULL)
            return UCS_ERR_NO_MEMORY;
        t->hmem = h;
        unsigned *r = realloc(t->refs, cap * sizeof(*r));
        if (r == NULL)
            return UCS_ERR_NO_MEMORY;
        t->refs = r;
        t->capacity = cap;
    }
    if (veo_shared_mem_open((void *)hmem, uct_veshm_proc.granule, UCT_VESHM_SYNCNUM,
                            UCT_VESHM_OPEN_FLAGS) != 0) {
        ucs_debug("veshm: opening VESHM area 0x%lx failed: %m", (unsigned long)hmem);
        return UCS_ERR_IO_ERROR;
    }
    t->hmem[t->count] = hmem;
    t->refs[t->count] = 1;
    ++t->count;
    return UCS_OK;
}

int uct_veshm_area_is_open(uint64_t hmem) {
    ucs_assert(uct_veshm_proc_is_locked());
    for (unsigned i = 0; i < uct_veshm_proc.open_areas.count; ++i) {
        if (uct_veshm_proc.open_areas.hmem[i] == hmem)
            return 1;
    }
    return 0;
}

void uct_veshm_area_close(uint64_t hmem) {
    typeof(uct_veshm_proc.open_areas) *t = &uct_veshm_proc.open_areas;
    ucs_assert(uct_veshm_proc_is_locked());
    for (unsigned i = 0; i < t->count; ++i) {
        if (t->hmem[i] != hmem)
            continue;
        ucs_assert(t->refs[i] > 0);
        if (--t->refs[i] == 0) {
            if (veo_shared_mem_close((void *)hmem, uct_veshm_proc.granule, UCT_VESHM_SYNCNUM,
                                     UCT_VESHM_OPEN_FLAGS) != 0)
                ucs_debug("veshm: closing area 0x%lx failed: %m", (unsigned long)hmem);
            /* Peers' attachments kept for keys of this opening must not serve
             * the keys of a later one. */
            __atomic_add_fetch(&uct_veshm_proc.area_epoch, 1, __ATOMIC_RELEASE);
            uct_veshm_rkey_cache_drop_unused(&uct_veshm_proc.cache, uct_veshm_proc.handle,
                                             uct_veshm_proc.ve_pid, hmem, uct_veshm_proc.granule);
            --t->count;
            t->hmem[i] = t->hmem[t->count];
            t->refs[i] = t->refs[t->count];
        }
        return;
    }
    ucs_assertv(0, "closing VESHM area 0x%lx that is not open", (unsigned long)hmem);
}
