/* veshm memory domain and component: see veshm_md.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "veshm_md.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/arch/cpu.h>
#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/sys/string.h>
#include <ucs/sys/sys.h>

#include "ve_offload.h"
#include "veo_hmem.h"
#include "veo_veshm.h"
#include "veshm_platform.h"

static ucs_config_field_t uct_veshm_md_config_table[] = {
    {"", "", NULL, ucs_offsetof(uct_veshm_md_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_md_config_table)},

    {"NODE", "auto",
     "Emulated VE node whose VE process carries this process's veshm traffic and\n"
     "holds the memory veshm allocates. 'auto': VE_NODE_NUMBER if set, else the node\n"
     "of a VE process the application already has, else 0. The transport uses the\n"
     "application's VE process on that node if there is one, else starts one.",
     ucs_offsetof(uct_veshm_md_config_t, node), UCS_CONFIG_TYPE_STRING},

    {NULL}};

/* Makes memh a VE memory handle for [hmem, hmem+length): opens its areas. */
static ucs_status_t uct_veshm_memh_open_areas(uct_veshm_memh_t *memh, uint64_t hmem,
                                              size_t length) {
    uint64_t g = uct_veshm_proc.granule;
    uint64_t first = hmem & ~(g - 1);
    uint64_t end = (hmem + length + g - 1) & ~(g - 1);
    unsigned count = (unsigned)((end - first) / g);
    memh->local = calloc(count, sizeof(*memh->local));
    if (memh->local == NULL)
        return UCS_ERR_NO_MEMORY;
    for (unsigned i = 0; i < count; ++i) {
        if (uct_veshm_area_open(first + i * g) != UCS_OK) {
            while (i-- > 0)
                uct_veshm_area_close(first + i * g);
            free(memh->local);
            memh->local = NULL;
            return UCS_ERR_IO_ERROR;
        }
    }
    memh->is_ve = 1;
    memh->hmem = hmem;
    memh->owner_pid = veo_get_pid_from_hmem((void *)hmem);
    memh->area_hmem = first;
    memh->area_count = count;
    return UCS_OK;
}

/* Proc lock held. */
static void uct_veshm_memh_close_areas(uct_veshm_memh_t *memh) {
    for (unsigned i = 0; i < memh->area_count; ++i) {
        if (memh->local[i] != NULL)
            uct_veshm_rkey_cache_put(&uct_veshm_proc.cache, uct_veshm_proc.handle, memh->local[i]);
        uct_veshm_area_close(memh->area_hmem + i * uct_veshm_proc.granule);
    }
    free(memh->local);
    memh->local = NULL;
}

uct_veshm_attach_t *uct_veshm_memh_local(uct_veshm_memh_t *memh, unsigned i) {
    if (!uct_veshm_memh_is_ve(memh) || i >= memh->area_count)
        return NULL;
    uct_veshm_attach_t *e = memh->local[i];
    if (ucs_likely(e != NULL))
        return e;
    uct_veshm_proc_lock();
    if (memh->local[i] == NULL &&
        uct_veshm_rkey_cache_get(
            &uct_veshm_proc.cache, uct_veshm_proc.handle, uct_veshm_proc.ve_pid, memh->owner_pid,
            memh->area_hmem + i * uct_veshm_proc.granule, uct_veshm_proc.granule, UCT_VESHM_SYNCNUM,
            UCT_VESHM_OPEN_FLAGS, uct_veshm_proc.area_epoch, &e) == UCS_OK)
        memh->local[i] = e;
    e = memh->local[i];
    uct_veshm_proc_unlock();
    return e;
}

uct_veshm_attach_t *uct_veshm_rkey_area_attach(uct_veshm_rkey_t *rkey, unsigned i) {
    uct_veshm_attach_t *e;
    const veshm_rkey_info_t *k = &rkey->info;
    ucs_status_t status = UCS_ERR_UNREACHABLE;
    uct_veshm_proc_lock();
    e = rkey->areas[i];
    if (e == NULL && uct_veshm_proc.handle != NULL) {
        status = uct_veshm_rkey_cache_get(&uct_veshm_proc.cache, uct_veshm_proc.handle,
                                          uct_veshm_proc.ve_pid, k->owner_pid,
                                          k->area_hmem + i * k->granule, k->granule, k->syncnum,
                                          (long long)k->mode_flag, k->epoch, &e);
        if (status == UCS_OK)
            __atomic_store_n(&rkey->areas[i], e, __ATOMIC_RELEASE);
    }
    uct_veshm_proc_unlock();
    if (e == NULL)
        ucs_error("veshm: cannot attach area 0x%lx of VE process %d: %s%s",
                  (unsigned long)(k->area_hmem + i * k->granule), (int)k->owner_pid,
                  ucs_status_string(status),
                  status == UCS_ERR_NO_MEMORY
                      ? " (DMAATB full: VESHM_DMAATB_ENTRIES entries, default 1024, per VE process)"
                      : "");
    return e;
}

/* Registers memh's host memory for DMA through the cache; proc lock held. */
static ucs_status_t uct_veshm_vh_register(uct_veshm_memh_t *memh) {
    uct_veshm_vh_region_t *r;
    if (uct_veshm_proc.handle == NULL || memh->address == NULL || memh->length == 0)
        return UCS_ERR_UNREACHABLE;
    ucs_status_t status =
        uct_veshm_vh_cache_get(uct_veshm_proc.handle, memh->address, memh->length, &r);
    if (status != UCS_OK)
        return status;
    memh->vh_region = r;
    memh->vh_vehva = r->vehva + ((uintptr_t)memh->address - r->super.start);
    return UCS_OK;
}

ucs_status_t uct_veshm_memh_vh_vehva(uct_veshm_memh_t *memh, uint64_t *vehva_p) {
    int state = __atomic_load_n(&memh->vh_state, __ATOMIC_ACQUIRE);
    if (ucs_unlikely(state == 0)) {
        uct_veshm_proc_lock();
        if (memh->vh_state == 0) {
            if (uct_veshm_vh_register(memh) == UCS_OK) {
                uct_veshm_proc_ref_locked(); /* the registration lives in our VE process */
                state = 1;
            } else {
                /* DMAATB full, or not mapped: staged through the bounce ring. */
                ucs_debug("veshm: host memory %p..+%zu not registered for DMA: %m", memh->address,
                          memh->length);
                state = -1;
            }
            __atomic_store_n(&memh->vh_state, state, __ATOMIC_RELEASE);
        }
        state = memh->vh_state;
        uct_veshm_proc_unlock();
    }
    if (state < 0)
        return UCS_ERR_UNREACHABLE;
    *vehva_p = memh->vh_vehva;
    return UCS_OK;
}

static ucs_status_t uct_veshm_md_query(uct_md_h md, uct_md_attr_t *md_attr) {
    uct_veshm_node_info_t info;
    uct_veshm_md_t *vmd = ucs_derived_of(md, uct_veshm_md_t);

    md_attr->rkey_packed_size = VESHM_RKEY_PACKED_SIZE;
    md_attr->cap.flags = UCT_MD_FLAG_ALLOC | UCT_MD_FLAG_REG | UCT_MD_FLAG_NEED_MEMH |
                         UCT_MD_FLAG_NEED_RKEY | UCT_MD_FLAG_FIXED;
    md_attr->cap.reg_mem_types = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->cap.alloc_mem_types = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->cap.access_mem_types = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    md_attr->cap.detect_mem_types = 0;
    md_attr->cap.max_alloc =
        (uct_veshm_platform_node_info(vmd->node, &info) == UCS_OK) ? info.memory_size : 0;
    md_attr->cap.max_reg = ULONG_MAX;
    /* Opening a VESHM area is a message to the VE process: tens of us. */
    md_attr->reg_cost = ucs_linear_func_make(20e-6, 0);
    memset(&md_attr->local_cpus, 0xff, sizeof(md_attr->local_cpus));
    return UCS_OK;
}

static ucs_status_t uct_veshm_mem_alloc(uct_md_h md, size_t *length_p, void **address_p,
                                        ucs_memory_type_t mem_type, unsigned flags,
                                        const char *alloc_name, uct_mem_h *memh_p) {
    struct veo_proc_handle *h = uct_veshm_proc.handle;
    uint64_t g = uct_veshm_proc.granule;
    size_t length = ucs_align_up(ucs_max(*length_p, 1), g);
    void *hmem = NULL;
    ucs_status_t status;

    if (mem_type != UCS_MEMORY_TYPE_HOST)
        return UCS_ERR_UNSUPPORTED;
    if ((flags & UCT_MD_MEM_FLAG_FIXED) &&
        ((*address_p == NULL) || ((uintptr_t)*address_p % ucs_get_page_size()) != 0))
        return UCS_ERR_INVALID_PARAM;

    uct_veshm_memh_t *memh = calloc(1, sizeof(*memh));
    if (memh == NULL)
        return UCS_ERR_NO_MEMORY;
    if (veo_posix_memalign_hmem(h, &hmem, g, length) != 0) {
        ucs_debug("veshm: allocating %zu bytes of VE memory for %s failed", length, alloc_name);
        free(memh);
        return UCS_ERR_NO_MEMORY;
    }
    void *address = uct_veshm_platform_hmem_to_vh(hmem);
    if (flags & UCT_MD_MEM_FLAG_FIXED) {
        memh->alias = uct_veshm_platform_map_fixed(hmem, length, *address_p);
        if (memh->alias == NULL) {
            status = UCS_ERR_NO_MEMORY;
            goto err_free;
        }
        address = memh->alias;
    }
    if (address == NULL) {
        status = UCS_ERR_NO_MEMORY;
        goto err_unmap;
    }
    uct_veshm_proc_lock();
    status = uct_veshm_memh_open_areas(memh, (uint64_t)hmem, length);
    if (status == UCS_OK)
        uct_veshm_proc_ref_locked();
    uct_veshm_proc_unlock();
    if (status != UCS_OK)
        goto err_unmap;
    memh->allocated = 1;
    memh->resolved = 1;
    memh->hmem_base = hmem;
    memh->address = address;
    memh->length = length;
    ucs_trace("veshm: allocated %zu bytes at %p (hmem %p) for %s", length, address, hmem,
              alloc_name);
    *length_p = length;
    *address_p = address;
    *memh_p = memh;
    return UCS_OK;

err_unmap:
    if (memh->alias != NULL)
        uct_veshm_platform_unmap(memh->alias);
err_free:
    veo_free_hmem(hmem);
    free(memh);
    return status;
}

static void uct_veshm_memh_destroy(uct_veshm_memh_t *memh) {
    if (memh->vh_state > 0) {
        /* UCP deregisters once the operations using memh completed. */
        uct_veshm_proc_lock();
        uct_veshm_vh_cache_put(uct_veshm_proc.handle, memh->vh_region);
        uct_veshm_proc_put_locked();
        uct_veshm_proc_unlock();
    }
    if (memh->is_ve) {
        uct_veshm_proc_lock();
        uct_veshm_memh_close_areas(memh);
        uct_veshm_proc_put_locked();
        uct_veshm_proc_unlock();
    }
    if (memh->alias != NULL)
        uct_veshm_platform_unmap(memh->alias);
    if (memh->allocated)
        veo_free_hmem(memh->hmem_base);
    free(memh);
}

static ucs_status_t uct_veshm_mem_free(uct_md_h md, uct_mem_h memh) {
    uct_veshm_memh_destroy(memh);
    return UCS_OK;
}

/* Whether [address, address+length) is one stretch of VE memory; its HMEM. */
static uint64_t uct_veshm_hmem_of(void *address, size_t length) {
    if (length == 0)
        return 0;
    uint64_t first = uct_veshm_platform_vh_to_hmem(address);
    if (first == 0)
        return 0;
    uint64_t last = uct_veshm_platform_vh_to_hmem((char *)address + length - 1);
    if (last == 0 || last - first != length - 1)
        return 0;
    return first;
}

__attribute__((visibility("default"))) uint64_t uct_veshm_md_exported(const void *address,
                                                                      size_t length) {
    uint64_t hmem = uct_veshm_hmem_of((void *)address, length);
    if (hmem == 0)
        return 0;
    uint64_t g = uct_veshm_proc.granule;
    int open = 1;
    uct_veshm_proc_lock();
    for (uint64_t a = hmem & ~(g - 1); open && a < hmem + length; a += g)
        open = uct_veshm_area_is_open(a);
    uct_veshm_proc_unlock();
    return open ? hmem : 0;
}

/* Registrations made: UCP's of the local buffers of its operations are the
 * ones that count (tests/shmem: none per put of up to 128 KiB in mode
 * veshm, UCX_ZCOPY_THRESH). Counted as uct_veshm_pio_count counts, without a
 * locked instruction: UCP registers the buffer of every zcopy, and a count
 * that two threads race on may miss one. */
static uint64_t uct_veshm_md_regs;

__attribute__((visibility("default"))) uint64_t uct_veshm_md_reg_count(void) {
    return __atomic_load_n(&uct_veshm_md_regs, __ATOMIC_RELAXED);
}

static ucs_status_t uct_veshm_mem_reg(uct_md_h md, void *address, size_t length, unsigned flags,
                                      uct_mem_h *memh_p) {
    __atomic_store_n(&uct_veshm_md_regs, __atomic_load_n(&uct_veshm_md_regs, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
    /* malloc, not calloc: glibc's calloc bypasses the thread's cache, so
     * UCP's registration of every zcopy buffer took a locked exchange on the
     * arena's free list twice per operation (perf: 5% of a 64 KiB put). */
    uct_veshm_memh_t *memh = malloc(sizeof(*memh));
    if (memh == NULL)
        return UCS_ERR_NO_MEMORY;
    *memh = (uct_veshm_memh_t){.address = address, .length = length};
    /* What the memory is, and opening its areas, waits for the first use
     * that needs them (uct_veshm_memh_is_ve): UCP registers the local
     * buffer of every zcopy, and the host-view path never looks at it. */
    *memh_p = memh;
    return UCS_OK;
}

void uct_veshm_memh_resolve_slow(uct_veshm_memh_t *memh) {
    uct_veshm_proc_lock();
    if (!memh->resolved) {
        uint64_t hmem = uct_veshm_hmem_of(memh->address, memh->length);
        /* Ordinary host memory (or VE memory that cannot be shared) is fine:
         * its key tells peers to use another transport. */
        if (hmem != 0 && uct_veshm_proc.handle != NULL &&
            uct_veshm_memh_open_areas(memh, hmem, memh->length) == UCS_OK)
            uct_veshm_proc_ref_locked();
        __atomic_store_n(&memh->resolved, 1, __ATOMIC_RELEASE);
    }
    uct_veshm_proc_unlock();
}

static ucs_status_t uct_veshm_mem_dereg(uct_md_h md, const uct_md_mem_dereg_params_t *params) {
    UCT_MD_MEM_DEREG_CHECK_PARAMS(params, 0);
    uct_veshm_memh_destroy(params->memh);
    return UCS_OK;
}

static ucs_status_t uct_veshm_mkey_pack(uct_md_h md, uct_mem_h uct_memh,
                                        const uct_md_mkey_pack_params_t *params,
                                        void *rkey_buffer) {
    uct_veshm_memh_t *memh = uct_memh;
    veshm_rkey_info_t info;
    memset(&info, 0, sizeof(info));
    if (uct_veshm_memh_is_ve(memh)) {
        info.kind = VESHM_RKEY_KIND_VE;
        info.owner_pid = memh->owner_pid;
        info.syncnum = UCT_VESHM_SYNCNUM;
        info.mode_flag = UCT_VESHM_OPEN_FLAGS;
        info.granule = uct_veshm_proc.granule;
        info.area_hmem = memh->area_hmem;
        info.area_count = memh->area_count;
        info.region_addr = (uintptr_t)memh->address;
        info.region_hmem = memh->hmem;
        info.region_len = memh->length;
        info.epoch = __atomic_load_n(&uct_veshm_proc.area_epoch, __ATOMIC_ACQUIRE);
    } else {
        info.kind = VESHM_RKEY_KIND_HOST;
    }
    info.host_guid = uct_veshm_scope_digest();
    int rc = veshm_rkey_encode(&info, rkey_buffer, VESHM_RKEY_PACKED_SIZE);
    if (rc != VESHM_RKEY_OK) {
        ucs_error("veshm: cannot pack key: %s", veshm_rkey_strerror(rc));
        return UCS_ERR_INVALID_PARAM;
    }
    return UCS_OK;
}

/* Sets rkey's host-view run (pio_*): how far from the region's start the
 * attachments' host views follow each other. */
static void uct_veshm_rkey_host_run(uct_veshm_rkey_t *rkey) {
    const veshm_rkey_info_t *k = &rkey->info;
    uint64_t rel = k->region_hmem - k->area_hmem, g = k->granule;
    unsigned first = (unsigned)(rel / g);
    rkey->pio_addr = k->region_addr;
    rkey->pio_base = NULL;
    rkey->pio_len = 0;
    rkey->pio_put_len = 0;
    /* An area not attached yet (DMAATB full at unpack) ends the run. */
    if (first >= k->area_count || rkey->areas[first] == NULL || rkey->areas[first]->host == NULL)
        return;
    uint8_t *start = rkey->areas[first]->host;
    uint64_t len = g - rel % g;
    int writable = rkey->areas[first]->writable;
    for (unsigned i = first + 1; i < k->area_count && len < k->region_len; ++i) {
        if (rkey->areas[i] == NULL || rkey->areas[i]->host != start + (uint64_t)(i - first) * g)
            break;
        writable = writable && rkey->areas[i]->writable;
        len += g;
    }
    rkey->pio_base = start + rel % g;
    rkey->pio_len = ucs_min(len, k->region_len);
    rkey->pio_put_len = writable ? rkey->pio_len : 0;
}

static ucs_status_t uct_veshm_rkey_unpack(uct_component_t *component, const void *rkey_buffer,
                                          uct_rkey_t *rkey_p, void **handle_p) {
    veshm_rkey_info_t info;
    int rc = veshm_rkey_decode(rkey_buffer, VESHM_RKEY_PACKED_SIZE, &info);
    if (rc != VESHM_RKEY_OK) {
        /* Not a key veshm made (damaged on its way): never used. Unreachable
         * rather than an error: UCP 1.13.1 answers any other failure of one
         * MD's unpack by releasing the keys of MDs it has not unpacked yet
         * (ucp_ep_rkey_unpack_internal, err_destroy) and crashes. */
        ucs_error("veshm: bad remote key: %s", veshm_rkey_strerror(rc));
        return UCS_ERR_UNREACHABLE;
    }
    if (info.kind != VESHM_RKEY_KIND_VE || info.host_guid != uct_veshm_scope_digest() ||
        info.host_guid == 0)
        return UCS_ERR_UNREACHABLE;

    /* On a line of its own: its host-view run is the one line a small put or
     * get reads. */
    uct_veshm_rkey_t *rkey = aligned_alloc(UCS_SYS_CACHE_LINE_SIZE,
                                           ucs_align_up(sizeof(*rkey), UCS_SYS_CACHE_LINE_SIZE));
    if (rkey == NULL)
        return UCS_ERR_NO_MEMORY;
    memset(rkey, 0, sizeof(*rkey));
    rkey->info = info;
    rkey->areas = calloc(info.area_count, sizeof(*rkey->areas));
    if (rkey->areas == NULL) {
        free(rkey);
        return UCS_ERR_NO_MEMORY;
    }
    /* Attached here, so that a key of anything but a live VE process of
     * this user never unpacks. An area that finds the DMAATB full is left
     * for its first use (uct_veshm_rkey_area): Open MPI's osc/ucx unpacks
     * every peer's key of every window when the window is created, and 500
     * windows of 4 ranks would need 1500 entries per rank before any
     * transfer (VESHM_DMAATB_ENTRIES, default 1024). */
    ucs_status_t status = UCS_OK;
    uct_veshm_proc_lock();
    if (uct_veshm_proc.handle == NULL) {
        status = UCS_ERR_UNREACHABLE;
    } else {
        for (unsigned i = 0; i < info.area_count; ++i) {
            status = uct_veshm_rkey_cache_get(
                &uct_veshm_proc.cache, uct_veshm_proc.handle, uct_veshm_proc.ve_pid, info.owner_pid,
                info.area_hmem + i * info.granule, info.granule, info.syncnum,
                (long long)info.mode_flag, info.epoch, &rkey->areas[i]);
            if (status == UCS_ERR_NO_MEMORY) {
                rkey->areas[i] = NULL; /* attached on first use */
                status = UCS_OK;
            }
            if (status != UCS_OK) {
                while (i-- > 0)
                    if (rkey->areas[i] != NULL)
                        uct_veshm_rkey_cache_put(&uct_veshm_proc.cache, uct_veshm_proc.handle,
                                                 rkey->areas[i]);
                break;
            }
        }
        if (status == UCS_OK)
            uct_veshm_proc_ref_locked();
    }
    uct_veshm_proc_unlock();
    if (status != UCS_OK) {
        free(rkey->areas);
        free(rkey);
        return status;
    }
    uct_veshm_rkey_host_run(rkey);
    *rkey_p = (uintptr_t)rkey;
    *handle_p = NULL;
    return UCS_OK;
}

static ucs_status_t uct_veshm_rkey_release(uct_component_t *component, uct_rkey_t rkey_val,
                                           void *handle) {
    uct_veshm_rkey_t *rkey = (uct_veshm_rkey_t *)rkey_val;
    if (rkey_val == 0 || rkey_val == UCT_INVALID_RKEY)
        return UCS_OK; /* callers release what failed to unpack, too */
    uct_veshm_proc_lock();
    for (unsigned i = 0; i < rkey->info.area_count; ++i)
        if (rkey->areas[i] != NULL)
            uct_veshm_rkey_cache_put(&uct_veshm_proc.cache, uct_veshm_proc.handle, rkey->areas[i]);
    uct_veshm_proc_put_locked();
    uct_veshm_proc_unlock();
    free(rkey->areas);
    free(rkey);
    return UCS_OK;
}

static void uct_veshm_md_close(uct_md_h md) {
    free(md);
    uct_veshm_proc_put();
}

static uct_md_ops_t uct_veshm_md_ops = {
    .close = uct_veshm_md_close,
    .query = uct_veshm_md_query,
    .mem_alloc = uct_veshm_mem_alloc,
    .mem_free = uct_veshm_mem_free,
    .mem_advise = (uct_md_mem_advise_func_t)ucs_empty_function_return_unsupported,
    .mem_reg = uct_veshm_mem_reg,
    .mem_dereg = uct_veshm_mem_dereg,
    .mem_query = (uct_md_mem_query_func_t)ucs_empty_function_return_unsupported,
    .mkey_pack = uct_veshm_mkey_pack,
    .is_sockaddr_accessible =
        (uct_md_is_sockaddr_accessible_func_t)ucs_empty_function_return_zero_int,
    .detect_memory_type = (uct_md_detect_memory_type_func_t)ucs_empty_function_return_unsupported,
};

static ucs_status_t uct_veshm_md_open(uct_component_t *component, const char *md_name,
                                      const uct_md_config_t *uct_md_config, uct_md_h *md_p) {
    const uct_veshm_md_config_t *config = ucs_derived_of(uct_md_config, uct_veshm_md_config_t);
    int node = uct_veshm_select_node(config->node);
    ucs_status_t status = uct_veshm_proc_get(node);
    if (status != UCS_OK)
        return status;
    uct_veshm_md_t *md = calloc(1, sizeof(*md));
    if (md == NULL) {
        uct_veshm_proc_put();
        return UCS_ERR_NO_MEMORY;
    }
    md->super.ops = &uct_veshm_md_ops;
    md->super.component = &uct_veshm_component;
    md->node = uct_veshm_proc.node;
    *md_p = &md->super;
    return UCS_OK;
}

static ucs_status_t uct_veshm_query_md_resources(uct_component_t *component,
                                                 uct_md_resource_desc_t **resources_p,
                                                 unsigned *num_resources_p) {
    if (uct_veshm_platform_node_count() > 0)
        return uct_md_query_single_md_resource(component, resources_p, num_resources_p);
    return uct_md_query_empty_md_resource(resources_p, num_resources_p);
}

uct_component_t uct_veshm_component = {
    .query_md_resources = uct_veshm_query_md_resources,
    .md_open = uct_veshm_md_open,
    .cm_open = (uct_component_cm_open_func_t)ucs_empty_function_return_unsupported,
    .rkey_unpack = uct_veshm_rkey_unpack,
    .rkey_ptr = (uct_component_rkey_ptr_func_t)ucs_empty_function_return_unsupported,
    .rkey_release = uct_veshm_rkey_release,
    .name = "veshm",
    .md_config =
        {
            .name = "veshm memory domain",
            .prefix = "VESHM_",
            .table = uct_veshm_md_config_table,
            .size = sizeof(uct_veshm_md_config_t),
        },
    .cm_config = UCS_CONFIG_EMPTY_GLOBAL_LIST_ENTRY,
    .tl_list = UCT_COMPONENT_TL_LIST_INITIALIZER(&uct_veshm_component),
    .flags = 0,
    .md_vfs_init = (uct_component_md_vfs_init_func_t)ucs_empty_function,
};
