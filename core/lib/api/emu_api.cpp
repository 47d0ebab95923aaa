// This project's extensions (veo_emu.h).
#include "lib/api/api.hpp"
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "sys/numa_placement.hpp"
#include "lib/memory/hmem.hpp"
#include "lib/dma/dma_engine.hpp"
#include "lib/proc/proc.hpp"

#include "veo_emu.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

using namespace veo::emu;

VEO_API int veo_emu_node_count(void) {
    return config().nodes;
}

VEO_API int veo_emu_ve_node_number(void) {
    return api_guard<int>("veo_emu_ve_node_number", -2,
                          [&]() -> int { return ve_node_number_from_environment(); });
}

VEO_API int veo_emu_get_node_info(int node, struct veo_emu_node_info *info) {
    return api_guard<int>("veo_emu_get_node_info", -1, [&]() -> int {
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
        info->dma_inline_max = DmaEngine::kSharedInlineMax;
        return 0;
    });
}

VEO_API int veo_emu_proc_node(veo_proc_handle *h) {
    return api_guard<int>("veo_emu_proc_node", -1,
                          [&]() -> int { return live_handle(h) ? from_handle(h)->node() : -1; });
}

VEO_API pid_t veo_emu_proc_pid(veo_proc_handle *h) {
    return api_guard<pid_t>("veo_emu_proc_pid", -1,
                            [&]() -> pid_t { return live_handle(h) ? from_handle(h)->pid() : -1; });
}

VEO_API veo_proc_handle *veo_emu_proc_find(int node) {
    return api_guard<veo_proc_handle *>("veo_emu_proc_find", nullptr, [&]() -> veo_proc_handle * {
        return to_handle(VeProc::first_on_node(node));
    });
}

VEO_API void *veo_emu_hmem_to_vh(const void *hmem) {
    return api_guard<void *>("veo_emu_hmem_to_vh", nullptr, [&]() -> void * {
        VeProc *p = is_ve(hmem) ? VeProc::by_ident(ident_of_hmem(hmem)) : nullptr;
        uint8_t *host = p ? p->translate(vemva_of_hmem(hmem), 1) : nullptr;
        if (host == nullptr)
            errno = EFAULT;
        return host;
    });
}

VEO_API void *veo_emu_vh_to_hmem(const void *vh_ptr) {
    return api_guard<void *>("veo_emu_vh_to_hmem", nullptr, [&]() -> void * {
        for (int i = 0; i < VEO_MAX_HMEM_PROCS; ++i) {
            VeProc *p = VeProc::by_ident(i);
            if (p == nullptr)
                continue;
            if (uint64_t vemva = p->vemva_of(vh_ptr))
                return (void *)make_hmem(vemva, i);
        }
        errno = EFAULT;
        return nullptr;
    });
}

VEO_API void *veo_emu_map_hmem(const void *hmem, size_t size, void *host_addr, int fixed) {
    return api_guard<void *>("veo_emu_map_hmem", nullptr, [&]() -> void * {
        VeProc *p = is_ve(hmem) ? VeProc::by_ident(ident_of_hmem(hmem)) : nullptr;
        if (p == nullptr || size == 0) {
            errno = EINVAL;
            return nullptr;
        }
        return p->map_alias(vemva_of_hmem(hmem), size, host_addr, fixed != 0);
    });
}

VEO_API int veo_emu_unmap_hmem(void *host_addr) {
    return api_guard<int>("veo_emu_unmap_hmem", -1, [&]() -> int {
        for (int i = 0; i < VEO_MAX_HMEM_PROCS; ++i) {
            VeProc *p = VeProc::by_ident(i);
            if (p != nullptr && p->unmap_alias(host_addr))
                return 0;
        }
        errno = EINVAL;
        return -1;
    });
}

VEO_API void *veo_emu_vehva_to_vh(veo_proc_handle *h, uint64_t vehva, size_t len, int *writable) {
    return api_guard<void *>("veo_emu_vehva_to_vh", nullptr, [&]() -> void * {
        uint8_t *host = nullptr;
        if (!live_handle(h) || from_handle(h)->dmaatb().translate(vehva, len, false, &host) != 0) {
            errno = EFAULT;
            return nullptr;
        }
        if (writable) {
            uint8_t *ignored;
            *writable = from_handle(h)->dmaatb().translate(vehva, len, true, &ignored) == 0;
        }
        return host;
    });
}

VEO_API uint64_t veo_emu_register_vh_mem(veo_proc_handle *h, void *vh_addr, size_t size) {
    return api_guard<uint64_t>("veo_emu_register_vh_mem", (uint64_t)-1, [&]() -> uint64_t {
        const char *fn = "veo_emu_register_vh_mem";
        if (!live_handle(h) || vh_addr == nullptr || size == 0)
            return fail_u64(EINVAL, fn, "NULL process handle or address, or size 0");
        VeProc *p = from_handle(h);
        if (!p->alive())
            return fail_u64(EBUSY, fn, "the VE process is gone");
        constexpr uintptr_t kPage = 4096;
        uintptr_t first = (uintptr_t)vh_addr & ~(kPage - 1);
        uintptr_t end = ((uintptr_t)vh_addr + size + kPage - 1) & ~(kPage - 1);
        // msync fails with ENOMEM on any unmapped page of the range.
        if (end <= first || msync((void *)first, end - first, MS_ASYNC) != 0)
            return fail_u64(EFAULT, fn, "range is not mapped memory of this process");
        uint64_t vehva = p->map_dma(DmaatbEntry::vh_memory((uint8_t *)first, end - first));
        if (vehva == 0)
            return fail_u64(ENOMEM, fn, "DMAATB full");
        return vehva + ((uintptr_t)vh_addr - first);
    });
}

VEO_API int veo_emu_unregister_vh_mem(veo_proc_handle *h, uint64_t vehva) {
    return api_guard<int>("veo_emu_unregister_vh_mem", -1, [&]() -> int {
        if (!live_handle(h)) {
            errno = EINVAL;
            return -1;
        }
        DmaatbEntry e;
        if (!from_handle(h)->unmap_dma(vehva, DmaatbKind::vh, &e)) {
            errno = ECANCELED;
            return -1;
        }
        return 0;
    });
}

VEO_API int veo_emu_proc_swap_out(veo_proc_handle *h) {
    return api_guard<int>("veo_emu_proc_swap_out", -1, [&]() -> int {
        int err = live_handle(h) ? from_handle(h)->set_swapped(true) : EINVAL;
        if (err) {
            errno = err;
            return -1;
        }
        return 0;
    });
}

VEO_API int veo_emu_proc_swap_in(veo_proc_handle *h) {
    return api_guard<int>("veo_emu_proc_swap_in", -1, [&]() -> int {
        int err = live_handle(h) ? from_handle(h)->set_swapped(false) : EINVAL;
        if (err) {
            errno = err;
            return -1;
        }
        return 0;
    });
}
