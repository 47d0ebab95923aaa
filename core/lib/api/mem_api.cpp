// VE memory of the VEO API: allocation, and copies that are a memcpy between
// mappings this process already holds.
#include "lib/api/api.hpp"
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "lib/exec/exec_state.hpp"
#include "lib/memory/hmem.hpp"
#include "lib/proc/hooks.hpp"
#include "lib/memory/mem_ops.hpp"
#include "lib/proc/proc.hpp"

#include "ve_offload.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

using namespace veo::emu;

namespace {

std::atomic<void (*)(void *, size_t)> alloc_hook{nullptr};
std::atomic<void (*)(uint64_t)> free_hook{nullptr};

// Large blocks start on page boundaries like VE's large-page allocations, so
// they can be registered as VESHM without further alignment.
uint64_t default_alignment(size_t size) {
    const uint64_t page = config().page_size;
    if (size >= page)
        return page;
    if (size >= (2u << 20))
        return 2u << 20;
    return 64;
}

int alloc_vemva(VeProc *p, uint64_t *vemva, size_t size, uint64_t alignment) {
    if (size == 0 || size > p->memory_size()) {
        VEO_LOG(debug, "allocation of %zu bytes: size out of range", size);
        return -1;
    }
    uint64_t a = p->allocator().allocate(size, alignment);
    if (a == 0) {
        VEO_LOG(debug, "allocation of %zu bytes: VE memory of node %d exhausted (ENOMEM)", size,
                p->node());
        errno = ENOMEM;
        return -1;
    }
    *vemva = a;
    p->publish_stats();
    return 0;
}

int free_vemva(VeProc *p, uint64_t vemva) {
    uint64_t size = p->allocator().release(vemva);
    if (size == 0) {
        VEO_LOG(debug, "free of 0x%llx: not an allocated block", (unsigned long long)vemva);
        return -1;
    }
    p->discard(vemva, size);
    p->publish_stats();
    return 0;
}

int copy_within(VeProc *p, uint64_t dst, uint64_t src, size_t size) {
    MappingRef keep_dst, keep_src;
    uint8_t *d = p->access(dst, size, &keep_dst, true), *s = p->access(src, size, &keep_src);
    if (d == nullptr || s == nullptr)
        return -1;
    memmove(d, s, size);
    return 0;
}

} // namespace

namespace veo::emu {
int mem_alloc(VeProc *p, uint64_t *vemva, size_t size) {
    return alloc_vemva(p, vemva, size, default_alignment(size));
}
int mem_free(VeProc *p, uint64_t addr) {
    return free_vemva(p, vemva_of_hmem((void *)addr));
}
} // namespace veo::emu

// Synchronous calls first wait for what the main context was given (as AVEO's,
// which go through that queue); the hooks of veo_register_hook run on success.

VEO_API int veo_alloc_mem(veo_proc_handle *h, uint64_t *addr, const size_t size) {
    return api_guard<int>("veo_alloc_mem", -1, [&]() -> int {
        if (!live_handle(h) || addr == nullptr)
            return -2;
        VeProc *p = from_handle(h);
        exec_quiesce(p);
        int rc = mem_alloc(p, addr, size);
        if (rc == 0)
            run_hook((void *)&veo_alloc_mem, h, addr, size);
        return rc;
    });
}

VEO_API int veo_free_mem(veo_proc_handle *h, uint64_t addr) {
    return api_guard<int>("veo_free_mem", -1, [&]() -> int {
        if (!live_handle(h))
            return -1;
        exec_quiesce(from_handle(h));
        int rc = mem_free(from_handle(h), addr);
        if (rc == 0)
            run_hook((void *)&veo_free_mem, h, addr);
        return rc;
    });
}

VEO_API int veo_alloc_hmem(veo_proc_handle *h, void **addr, const size_t size) {
    return api_guard<int>("veo_alloc_hmem", -1, [&]() -> int {
        if (addr == nullptr)
            return -2;
        if (h == nullptr) { // AVEO: no process means VH memory
            *addr = malloc(size);
            return *addr ? 0 : -1;
        }
        if (!live_handle(h))
            return -1;
        VeProc *p = from_handle(h);
        exec_quiesce(p);
        uint64_t vemva = 0;
        int rc = alloc_vemva(p, &vemva, size, default_alignment(size));
        if (rc != 0)
            return rc;
        *addr = (void *)make_hmem(vemva, p->ident());
        if (auto hook = alloc_hook.load())
            hook(*addr, size);
        run_hook((void *)&veo_alloc_hmem, h, *addr, size);
        return 0;
    });
}

VEO_API int veo_posix_memalign_hmem(veo_proc_handle *h, void **memptr, size_t alignment,
                                    size_t size) {
    return api_guard<int>("veo_posix_memalign_hmem", -1, [&]() -> int {
        if (memptr == nullptr || alignment < sizeof(void *) || (alignment & (alignment - 1)))
            return EINVAL;
        if (!live_handle(h))
            return posix_memalign(memptr, alignment, size);
        VeProc *p = from_handle(h);
        uint64_t vemva = 0;
        uint64_t a = alignment > default_alignment(size) ? alignment : default_alignment(size);
        if (alloc_vemva(p, &vemva, size, a) != 0)
            return ENOMEM;
        *memptr = (void *)make_hmem(vemva, p->ident());
        if (auto hook = alloc_hook.load())
            hook(*memptr, size);
        return 0;
    });
}

VEO_API int veo_free_hmem(void *addr) {
    return api_guard<int>("veo_free_hmem", -1, [&]() -> int {
        if (!is_ve(addr)) {
            free(addr);
            return 0;
        }
        VeProc *p = VeProc::by_ident(ident_of_hmem(addr));
        if (p == nullptr)
            return -1;
        exec_quiesce(p);
        if (auto hook = free_hook.load())
            hook((uint64_t)addr);
        int rc = free_vemva(p, vemva_of_hmem(addr));
        if (rc == 0)
            run_hook((void *)&veo_free_hmem, to_handle(p), addr);
        return rc;
    });
}

VEO_API int veo_read_mem(veo_proc_handle *h, void *dst, uint64_t src, size_t size) {
    return api_guard<int>("veo_read_mem", -1, [&]() -> int {
        if (!live_handle(h) || (dst == nullptr && size != 0))
            return -1;
        if (size == 0)
            return 0;
        exec_quiesce(from_handle(h));
        MappingRef keep;
        const uint8_t *s = from_handle(h)->access(vemva_of_hmem((void *)src), size, &keep);
        if (s == nullptr) {
            VEO_LOG(debug, "veo_read_mem: 0x%llx+%zu is not VE memory of this process",
                    (unsigned long long)src, size);
            return -1;
        }
        memcpy(dst, s, size);
        return 0;
    });
}

VEO_API int veo_write_mem(veo_proc_handle *h, uint64_t dst, const void *src, size_t size) {
    return api_guard<int>("veo_write_mem", -1, [&]() -> int {
        if (!live_handle(h) || (src == nullptr && size != 0))
            return -1;
        if (size == 0)
            return 0;
        exec_quiesce(from_handle(h));
        MappingRef keep;
        uint8_t *d = from_handle(h)->access(vemva_of_hmem((void *)dst), size, &keep, true);
        if (d == nullptr) {
            VEO_LOG(debug, "veo_write_mem: 0x%llx+%zu is not VE memory of this process",
                    (unsigned long long)dst, size);
            return -1;
        }
        memcpy(d, src, size);
        return 0;
    });
}

VEO_API int veo_hmemcpy(void *dst, const void *src, size_t size) {
    return api_guard<int>("veo_hmemcpy", -1, [&]() -> int {
        bool dst_ve = is_ve(dst), src_ve = is_ve(src);
        if (!dst_ve && !src_ve) {
            if (size)
                memcpy(dst, src, size);
            return 0;
        }
        VeProc *dp = dst_ve ? VeProc::by_ident(ident_of_hmem(dst)) : nullptr;
        VeProc *sp = src_ve ? VeProc::by_ident(ident_of_hmem(src)) : nullptr;
        if ((dst_ve && dp == nullptr) || (src_ve && sp == nullptr))
            return -1;
        if (dst_ve && !src_ve)
            return veo_write_mem(to_handle(dp), vemva_of_hmem(dst), src, size);
        if (!dst_ve && src_ve)
            return veo_read_mem(to_handle(sp), dst, vemva_of_hmem(src), size);
        if (dp != sp) {
            VEO_LOG(debug, "veo_hmemcpy: VE to VE across processes is not supported");
            return -1;
        }
        return size ? copy_within(dp, vemva_of_hmem(dst), vemva_of_hmem(src), size) : 0;
    });
}

VEO_API void veo_register_hmem_hook_functions(void (*alloc)(void *, size_t),
                                              void (*free_fn)(uint64_t)) {
    api_guard_void("veo_register_hmem_hook_functions", [&] {
        alloc_hook.store(alloc);
        free_hook.store(free_fn);
    });
}

VEO_API void veo_unregister_hmem_hook_functions(void) {
    api_guard_void("veo_unregister_hmem_hook_functions", [&] {
        alloc_hook.store(nullptr);
        free_hook.store(nullptr);
    });
}
