// The VESHM API: argument checks and errno mapping (README "VESHM errors"),
// on top of the VE process's registry and the attach client.
#include "lib/api/api.hpp"
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "lib/memory/hmem.hpp"
#include "lib/proc/proc.hpp"
#include "lib/veshm/veshm_areas.hpp"

#include "veo_veshm.h"

#include <cerrno>
#include <cstring>

using namespace veo::emu;

namespace {

constexpr long long kOpenFlags =
    VE_SHM_RO | VE_PCISYNC | VE_REGISTER_PCI | VE_MAP_256MB | VE_REGISTER_NONE;
constexpr long long kAttachKinds = VE_REGISTER_VEHVA | VE_REGISTER_VEMVA | VE_MEM_LOCAL;

bool aligned(uint64_t v, uint64_t a) {
    return (v & (a - 1)) == 0;
}

// Checks shared by open and close; 0 or an errno.
int check_area(void *vemva, size_t size, int syncnum, long long flags, VeProc **proc,
               const char **why) {
    const PlatformConfig &cfg = config();
    if (!cfg.veshm_enabled)
        return *why = "VESHM is disabled (VESHM_IVED=off)", ENOTSUP;
    VeProc *p = is_ve(vemva) ? VeProc::by_ident(ident_of_hmem(vemva)) : nullptr;
    if (p == nullptr)
        return *why = "not an HMEM address of a VE process of this VH", EINVAL;
    if (syncnum != 0)
        return *why = "syncnum must be 0", EINVAL;
    if (size == 0 || size > p->memory_size())
        return *why = "size is 0 or larger than VE memory", EINVAL;
    if (flags & ~kOpenFlags)
        return *why = "unknown mode flag", EINVAL;
    bool pci = flags & VE_REGISTER_PCI, none = flags & VE_REGISTER_NONE;
    if (pci == none)
        return *why = "exactly one of VE_REGISTER_PCI and VE_REGISTER_NONE is needed", EINVAL;
    if ((flags & VE_PCISYNC) && !pci)
        return *why = "VE_PCISYNC needs VE_REGISTER_PCI", EINVAL;
    if (flags & VE_MAP_256MB)
        return *why = "VE_MAP_256MB needs a VE3 (this VE is VE1-class)", EINVAL;
    uint64_t addr = vemva_of_hmem(vemva);
    if (pci) {
        if (cfg.page_size != cfg.pciatb_page_size)
            return *why = "VE page size differs from the PCIATB page size", EINVAL;
        if (!aligned(addr, cfg.pciatb_page_size) || !aligned(size, cfg.pciatb_page_size))
            return *why = "address or size not aligned to the PCIATB page size", EINVAL;
    } else if (!aligned(addr, cfg.page_size) || !aligned(size, cfg.page_size)) {
        return *why = "address or size not aligned to the VE page size", EINVAL;
    }
    *proc = p;
    return 0;
}

AttachInto attach_kind(long long kind) {
    return kind == VE_REGISTER_VEHVA   ? AttachInto::vehva
           : kind == VE_REGISTER_VEMVA ? AttachInto::vemva
                                       : AttachInto::local;
}

} // namespace

VEO_API int veo_shared_mem_open(void *vemva, size_t size, int syncnum, long long mode_flag) {
    return api_guard<int>("veo_shared_mem_open", -1, [&]() -> int {
        VeProc *p = nullptr;
        const char *why = "";
        int err = check_area(vemva, size, syncnum, mode_flag, &p, &why);
        if (err == 0)
            err = open_area(p, vemva_of_hmem(vemva), size, syncnum, mode_flag, &why);
        return err ? fail(err, "veo_shared_mem_open", why) : 0;
    });
}

VEO_API int veo_shared_mem_close(void *vemva, size_t size, int syncnum, long long mode_flag) {
    return api_guard<int>("veo_shared_mem_close", -1, [&]() -> int {
        VeProc *p = nullptr;
        const char *why = "";
        int err = check_area(vemva, size, syncnum, mode_flag, &p, &why);
        if (err == 0)
            err = close_area(p, vemva_of_hmem(vemva), size, syncnum, mode_flag, &why);
        return err ? fail(err, "veo_shared_mem_close", why) : 0;
    });
}

VEO_API void *veo_shared_mem_attach(veo_proc_handle *h, pid_t pid, void *veshm_vemva, size_t size,
                                    int syncnum, long long mode_flag) {
    return api_guard<void *>("veo_shared_mem_attach", (void *)-1, [&]() -> void * {
        const char *fn = "veo_shared_mem_attach";
        if (!config().veshm_enabled)
            return fail_ptr(ENOTSUP, fn, "VESHM is disabled (VESHM_IVED=off)");
        if (!live_handle(h))
            return fail_ptr(EINVAL, fn, "NULL process handle");
        long long kind = mode_flag & kAttachKinds;
        long long open_flags = mode_flag & ~kAttachKinds;
        if (kind != VE_REGISTER_VEHVA && kind != VE_REGISTER_VEMVA && kind != VE_MEM_LOCAL)
            return fail_ptr(EINVAL, fn, "exactly one of VEHVA, VEMVA, MEM_LOCAL is needed");
        if (open_flags & ~kOpenFlags)
            return fail_ptr(EINVAL, fn, "unknown mode flag");
        if (syncnum != 0)
            return fail_ptr(EINVAL, fn, "syncnum must be 0");
        if (size == 0)
            return fail_ptr(EINVAL, fn, "size is 0");
        if (veshm_vemva == nullptr)
            return fail_ptr(EFAULT, fn, "NULL area address");
        if (pid <= 0)
            return fail_ptr(ESRCH, fn, "no such process");
        uint64_t at = 0;
        const char *why = "";
        if (int err = attach_area(from_handle(h), pid, vemva_of_hmem(veshm_vemva), size, syncnum,
                                  open_flags, attach_kind(kind), &at, &why))
            return fail_ptr(err, fn, why);
        return (void *)at;
    });
}

VEO_API int veo_shared_mem_detach(veo_proc_handle *h, void *veshm_addr, long long mode_flag) {
    return api_guard<int>("veo_shared_mem_detach", -1, [&]() -> int {
        const char *fn = "veo_shared_mem_detach";
        if (!config().veshm_enabled)
            return fail(ENOTSUP, fn, "VESHM is disabled (VESHM_IVED=off)");
        if (!live_handle(h))
            return fail(EINVAL, fn, "NULL process handle");
        if (mode_flag != VE_REGISTER_VEHVA && mode_flag != VE_REGISTER_VEMVA &&
            mode_flag != VE_MEM_LOCAL)
            return fail(EINVAL, fn, "mode flag must be one of VEHVA, VEMVA, MEM_LOCAL");
        const char *why = "";
        if (int err =
                detach_area(from_handle(h), (uint64_t)veshm_addr, attach_kind(mode_flag), &why))
            return fail(err, fn, why);
        return 0;
    });
}
