// VE DMA of the VEO API (veo_vedma.h).
#include "lib/api/api.hpp"
#include "lib/memory/hmem.hpp"
#include "lib/proc/proc.hpp"

#include "veo_vedma.h"
#include "veo_veshm.h"

#include <atomic>
#include <cerrno>

using namespace veo::emu;

VEO_API int veo_dma_post(veo_proc_handle *h, uint64_t dst, uint64_t src, int size,
                         ve_dma_handle_t *handle) {
    return api_guard<int>("veo_dma_post", -ENOMEM, [&]() -> int {
        if (handle == nullptr)
            return -EFAULT;
        if (!live_handle(h))
            return -EINVAL;
        return from_handle(h)->dma().post(dst, src, size, handle);
    });
}

VEO_API int veo_dma_poll(veo_proc_handle *h, ve_dma_handle_t *handle) {
    return api_guard<int>("veo_dma_poll", -ENOMEM, [&]() -> int {
        if (handle == nullptr)
            return -EFAULT;
        if (!live_handle(h))
            return -EINVAL;
        return from_handle(h)->dma().poll(handle);
    });
}

VEO_API int veo_dma_post_wait(veo_proc_handle *h, uint64_t dst, uint64_t src, int size) {
    return api_guard<int>("veo_dma_post_wait", -ENOMEM, [&]() -> int {
        if (!live_handle(h))
            return -EINVAL;
        return from_handle(h)->dma().post_wait(dst, src, size);
    });
}

VEO_API uint64_t veo_register_mem_to_dmaatb(void *vemva, size_t size) {
    return api_guard<uint64_t>("veo_register_mem_to_dmaatb", (uint64_t)-1, [&]() -> uint64_t {
        veo_proc_handle *h = veo_get_proc_handle_from_hmem(vemva);
        if (!live_handle(h)) {
            errno = EINVAL;
            return (uint64_t)-1;
        }
        return (uint64_t)veo_shared_mem_attach(h, veo_get_pid_from_hmem(vemva), vemva, size, 0,
                                               VE_MEM_LOCAL);
    });
}

VEO_API int veo_unregister_mem_from_dmaatb(veo_proc_handle *h, uint64_t vehva) {
    return api_guard<int>("veo_unregister_mem_from_dmaatb", -1, [&]() -> int {
        return veo_shared_mem_detach(h, (void *)vehva, VE_MEM_LOCAL);
    });
}

VEO_API void veo_access_pcircvsyc_register(veo_proc_handle *) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
}
