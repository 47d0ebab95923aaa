// This project's extensions (veo_emu.h).
#include "api.hpp"
#include "common/config.hpp"
#include "common/numa_placement.hpp"
#include "hmem.hpp"
#include "proc.hpp"

#include "veo_emu.h"

#include <cerrno>

using namespace veo::emu;

VEO_API int veo_emu_node_count(void) {
    return config().nodes;
}

VEO_API int veo_emu_get_node_info(int node, struct veo_emu_node_info *info) {
    const PlatformConfig &c = config();
    if (info == nullptr || node < 0 || node >= c.nodes) {
        errno = EINVAL;
        return -1;
    }
    info->node = node;
    info->numa_node = numa_node_of(node);
    info->memory_size = c.memory_size;
    info->page_size = c.page_size;
    info->pciatb_page_size = c.pciatb_page_size;
    info->pciatb_entries = c.pciatb_entries;
    info->dmaatb_entries = c.dmaatb_entries;
    info->dma_descriptors = c.dma_descriptors;
    return 0;
}

VEO_API int veo_emu_proc_node(veo_proc_handle *h) {
    return h ? from_handle(h)->node() : -1;
}

VEO_API pid_t veo_emu_proc_pid(veo_proc_handle *h) {
    return h ? from_handle(h)->pid() : -1;
}

VEO_API veo_proc_handle *veo_emu_proc_find(int node) {
    return to_handle(VeProc::first_on_node(node));
}

VEO_API void *veo_emu_hmem_to_vh(const void *hmem) {
    VeProc *p = is_ve(hmem) ? VeProc::by_ident(ident_of_hmem(hmem)) : nullptr;
    uint8_t *host = p ? p->translate(vemva_of_hmem(hmem), 1) : nullptr;
    if (host == nullptr)
        errno = EFAULT;
    return host;
}

VEO_API void *veo_emu_vh_to_hmem(const void *vh_ptr) {
    for (int i = 0; i < VEO_MAX_HMEM_PROCS; ++i) {
        VeProc *p = VeProc::by_ident(i);
        if (p == nullptr)
            continue;
        if (uint64_t vemva = p->vemva_of(vh_ptr))
            return (void *)make_hmem(vemva, i);
    }
    errno = EFAULT;
    return nullptr;
}

VEO_API void *veo_emu_map_hmem(const void *hmem, size_t size, void *host_addr, int fixed) {
    VeProc *p = is_ve(hmem) ? VeProc::by_ident(ident_of_hmem(hmem)) : nullptr;
    if (p == nullptr || size == 0) {
        errno = EINVAL;
        return nullptr;
    }
    return p->map_alias(vemva_of_hmem(hmem), size, host_addr, fixed != 0);
}

VEO_API int veo_emu_unmap_hmem(void *host_addr) {
    for (int i = 0; i < VEO_MAX_HMEM_PROCS; ++i) {
        VeProc *p = VeProc::by_ident(i);
        if (p != nullptr && p->unmap_alias(host_addr))
            return 0;
    }
    errno = EINVAL;
    return -1;
}

VEO_API void *veo_emu_vehva_to_vh(veo_proc_handle *h, uint64_t vehva, size_t len, int *writable) {
    uint8_t *host = nullptr;
    if (h == nullptr || from_handle(h)->dmaatb().translate(vehva, len, false, &host) != 0) {
        errno = EFAULT;
        return nullptr;
    }
    if (writable) {
        uint8_t *ignored;
        *writable = from_handle(h)->dmaatb().translate(vehva, len, true, &ignored) == 0;
    }
    return host;
}

VEO_API int veo_emu_proc_swap_out(veo_proc_handle *h) {
    int err = h ? from_handle(h)->set_swapped(true) : EINVAL;
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

VEO_API int veo_emu_proc_swap_in(veo_proc_handle *h) {
    int err = h ? from_handle(h)->set_swapped(false) : EINVAL;
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}
