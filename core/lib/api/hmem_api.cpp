// The HMEM address helpers of veo_hmem.h and the process look-ups by address.
#include "lib/memory/hmem.hpp"
#include "lib/api/api.hpp"
#include "lib/proc/proc.hpp"

#include "ve_offload.h"

using namespace veo::emu;

VEO_API int veo_is_ve_addr(const void *addr) {
    return is_ve(addr) ? 1 : 0;
}

VEO_API void *veo_get_hmem_addr(void *addr) {
    return is_ve(addr) ? (void *)vemva_of_hmem(addr) : addr;
}

VEO_API int veo_get_max_proc_identifier(void) {
    return VEO_MAX_HMEM_PROCS;
}

VEO_API int veo_get_proc_identifier_from_hmem(const void *addr) {
    return is_ve(addr) ? ident_of_hmem(addr) : -1;
}

VEO_API void *veo_set_proc_identifier(void *addr, int proc_ident) {
    if (proc_ident < 0 || proc_ident >= VEO_MAX_HMEM_PROCS)
        return nullptr;
    return (void *)make_hmem(vemva_of_hmem(addr), proc_ident);
}

VEO_API veo_proc_handle *veo_get_proc_handle_from_hmem(const void *addr) {
    return api_guard<veo_proc_handle *>("veo_get_proc_handle_from_hmem", nullptr,
                                        [&]() -> veo_proc_handle * {
                                            if (!is_ve(addr))
                                                return nullptr;
                                            return to_handle(VeProc::by_ident(ident_of_hmem(addr)));
                                        });
}

VEO_API pid_t veo_get_pid_from_hmem(const void *addr) {
    return api_guard<pid_t>("veo_get_pid_from_hmem", -1, [&]() -> pid_t {
        VeProc *p = is_ve(addr) ? VeProc::by_ident(ident_of_hmem(addr)) : nullptr;
        return p ? p->pid() : -1;
    });
}

VEO_API int veo_get_venum_from_hmem(const void *addr) {
    return api_guard<int>("veo_get_venum_from_hmem", -1, [&]() -> int {
        VeProc *p = is_ve(addr) ? VeProc::by_ident(ident_of_hmem(addr)) : nullptr;
        return p ? p->node() : -1;
    });
}
