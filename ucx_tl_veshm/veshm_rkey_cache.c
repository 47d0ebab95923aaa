/* VEHVA attachment cache: see veshm_rkey_cache.h. */
#include "veshm_rkey_cache.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/debug/assert.h>
#include <ucs/debug/log.h>

#include "veshm_platform.h"
#include "veo_vedma.h"
#include "veo_veshm.h"
#include "veshm_md.h"

static void detach(struct veo_proc_handle *proc, uct_veshm_attach_t *e) {
    int rc = e->local ? veo_unregister_mem_from_dmaatb(proc, e->vehva)
                      : veo_shared_mem_detach(proc, (void *)e->vehva, VE_REGISTER_VEHVA);
    if (rc != 0)
        ucs_debug("veshm: detaching area 0x%lx of %d failed: %m", (unsigned long)e->hmem,
                  (int)e->owner_pid);
}

/* Detaches and frees the unreferenced entry at index i. */
static void drop(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc, unsigned i) {
    uct_veshm_attach_t *e = cache->entries[i];
    ucs_assert(e->refs == 0 && cache->unused > 0);
    cache->entries[i] = cache->entries[--cache->count];
    --cache->unused;
    detach(proc, e);
    free(e);
}

/* Whether an unreferenced entry can never serve a lookup again: its owner is
 * gone, or (owner_pid, hmem, size) is being looked up with another epoch. */
static int stale(const uct_veshm_attach_t *e, pid_t own_pid, pid_t owner_pid, uint64_t hmem,
                 uint64_t size, uint64_t epoch) {
    if (e->owner_pid == owner_pid && e->hmem == hmem && e->size == size && e->epoch != epoch)
        return 1;
    return e->owner_pid != own_pid && kill(e->owner_pid, 0) != 0 && errno == ESRCH;
}

/* Detaches the unreferenced entries: all of them, or the stale ones. */
static void prune(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc, pid_t own_pid,
                  pid_t owner_pid, uint64_t hmem, uint64_t size, uint64_t epoch, int all) {
    for (unsigned i = cache->count; i-- > 0;) {
        uct_veshm_attach_t *e = cache->entries[i];
        if (e->refs == 0 && (all || stale(e, own_pid, owner_pid, hmem, size, epoch)))
            drop(cache, proc, i);
    }
}

static uint64_t attach(struct veo_proc_handle *proc, int local, pid_t owner_pid, uint64_t hmem,
                       uint64_t size, int syncnum, long long mode_flag) {
    if (local)
        return veo_register_mem_to_dmaatb((void *)hmem, size);
    return (uint64_t)veo_shared_mem_attach(proc, owner_pid, (void *)hmem, size, syncnum,
                                           mode_flag | VE_REGISTER_VEHVA);
}

ucs_status_t uct_veshm_rkey_cache_get(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                                      pid_t own_pid, pid_t owner_pid, uint64_t hmem, uint64_t size,
                                      int syncnum, long long mode_flag, uint64_t epoch,
                                      uct_veshm_attach_t **entry_p) {
    ucs_assert(uct_veshm_proc_is_locked());
    for (unsigned i = 0; i < cache->count; ++i) {
        uct_veshm_attach_t *e = cache->entries[i];
        if (e->owner_pid == owner_pid && e->hmem == hmem && e->size == size && e->epoch == epoch) {
            if (e->refs++ == 0)
                --cache->unused;
            ++cache->hits;
            *entry_p = e;
            return UCS_OK;
        }
    }
    /* A miss is slow anyway: the moment to let go of what cannot hit again. */
    if (cache->unused > 0)
        prune(cache, proc, own_pid, owner_pid, hmem, size, epoch, 0);
    if (cache->count == cache->capacity) {
        unsigned cap = cache->capacity ? 2 * cache->capacity : 16;
        uct_veshm_attach_t **n = realloc(cache->entries, cap * sizeof(*n));
        if (n == NULL)
            return UCS_ERR_NO_MEMORY;
        cache->entries = n;
        cache->capacity = cap;
    }
    uct_veshm_attach_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return UCS_ERR_NO_MEMORY;
    e->local = owner_pid == own_pid;
    uint64_t vehva = attach(proc, e->local, owner_pid, hmem, size, syncnum, mode_flag);
    if (vehva == (uint64_t)-1 && errno == ENOMEM && cache->unused > 0) {
        /* The DMAATB is full: kept attachments give way to a used one. */
        prune(cache, proc, own_pid, owner_pid, hmem, size, epoch, 1);
        vehva = attach(proc, e->local, owner_pid, hmem, size, syncnum, mode_flag);
    }
    if (vehva == (uint64_t)-1) {
        int err = errno;
        ucs_debug("veshm: %s of area 0x%lx (owner %d) failed: %s",
                  e->local ? "DMAATB registration" : "VEHVA attach", (unsigned long)hmem,
                  (int)owner_pid, strerror(err));
        free(e);
        /* A gone owner or an area that is not (any more) open: unreachable.
         * ENOMEM: our DMAATB (or VEMVA room) is full. */
        if (err == ESRCH || err == ENOENT || err == EACCES || err == EBUSY)
            return UCS_ERR_UNREACHABLE;
        return err == ENOMEM ? UCS_ERR_NO_MEMORY : UCS_ERR_IO_ERROR;
    }
    int writable = 0;
    e->host = uct_veshm_platform_vehva_to_vh(proc, vehva, size, &writable);
    e->writable = writable;
    e->owner_pid = owner_pid;
    e->hmem = hmem;
    e->size = size;
    e->epoch = epoch;
    e->vehva = vehva;
    e->refs = 1;
    cache->entries[cache->count++] = e;
    ++cache->misses;
    *entry_p = e;
    return UCS_OK;
}

void uct_veshm_rkey_cache_put(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                              uct_veshm_attach_t *entry) {
    ucs_assert(uct_veshm_proc_is_locked());
    ucs_assert(entry->refs > 0);
    if (--entry->refs > 0)
        return;
    entry->last_use = ++cache->tick;
    if (++cache->unused <= UCT_VESHM_RKEY_CACHE_KEEP)
        return;
    unsigned oldest = cache->count;
    for (unsigned i = 0; i < cache->count; ++i) {
        const uct_veshm_attach_t *e = cache->entries[i];
        if (e->refs == 0 &&
            (oldest == cache->count || e->last_use < cache->entries[oldest]->last_use))
            oldest = i;
    }
    drop(cache, proc, oldest);
}

void uct_veshm_rkey_cache_drop_unused(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc,
                                      pid_t owner_pid, uint64_t hmem, uint64_t size) {
    ucs_assert(uct_veshm_proc_is_locked());
    for (unsigned i = cache->count; i-- > 0;) {
        const uct_veshm_attach_t *e = cache->entries[i];
        if (e->refs == 0 && e->owner_pid == owner_pid && e->hmem >= hmem && e->hmem - hmem < size)
            drop(cache, proc, i);
    }
}

void uct_veshm_rkey_cache_cleanup(uct_veshm_rkey_cache_t *cache, struct veo_proc_handle *proc) {
    for (unsigned i = 0; i < cache->count; ++i) {
        if (proc != NULL)
            detach(proc, cache->entries[i]);
        free(cache->entries[i]);
    }
    free(cache->entries);
    cache->entries = NULL;
    cache->count = cache->capacity = cache->unused = 0;
}

__attribute__((visibility("default"))) void *uct_veshm_peer_view(pid_t owner_pid, uint64_t hmem,
                                                                 size_t *len) {
    void *view = NULL;
    uct_veshm_proc_lock();
    const uct_veshm_rkey_cache_t *cache = &uct_veshm_proc.cache;
    for (unsigned i = 0; i < cache->count && view == NULL; ++i) {
        const uct_veshm_attach_t *e = cache->entries[i];
        if (e->refs > 0 && !e->local && e->writable && e->owner_pid == owner_pid &&
            hmem >= e->hmem && hmem - e->hmem < e->size) {
            view = e->host + (hmem - e->hmem);
            if (*len > e->size - (hmem - e->hmem))
                *len = e->size - (hmem - e->hmem);
        }
    }
    uct_veshm_proc_unlock();
    if (view == NULL)
        *len = 0;
    return view;
}

__attribute__((visibility("default"))) void uct_veshm_rkey_cache_stats(uint64_t *hits,
                                                                       uint64_t *misses) {
    uct_veshm_proc_lock();
    if (hits)
        *hits = uct_veshm_proc.cache.hits;
    if (misses)
        *misses = uct_veshm_proc.cache.misses;
    uct_veshm_proc_unlock();
}
