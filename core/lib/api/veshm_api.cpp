// The VESHM API: argument checks and errno mapping (README "VESHM errors"),
// on top of the VE process's registry and the attach client.
#include "lib/api/api.hpp"
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "lib/memory/hmem.hpp"
#include "lib/proc/proc.hpp"
#include "lib/veshm/veshm_attacher.hpp"

#include "veo_veshm.h"

#include <cerrno>
#include <cstring>

using namespace veo::emu;

namespace {

constexpr long long kOpenFlags =
    VE_SHM_RO | VE_PCISYNC | VE_REGISTER_PCI | VE_MAP_256MB | VE_REGISTER_NONE;
constexpr long long kAttachKinds = VE_REGISTER_VEHVA | VE_REGISTER_VEMVA | VE_MEM_LOCAL;

int fail(int err, const char *fn, const char *why) {
    VEO_LOG(debug, "%s: %s (%s)", fn, why, strerrorname_np(err));
    errno = err;
    return -1;
}

void *fail_ptr(int err, const char *fn, const char *why) {
    fail(err, fn, why);
    return (void *)-1;
}

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

// Sends a control request; maps a dead VE process to EBUSY / ECANCELED.
int control(VeProc *p, ControlType type, const void *payload, size_t len, int send_fd = -1) {
    int error = 0;
    int rc = p->control().call(type, payload, len, &error, nullptr, nullptr, send_fd);
    if (rc == -EPIPE)
        return EBUSY;
    if (rc < 0)
        return ECANCELED;
    return error;
}

} // namespace

VEO_API int veo_shared_mem_open(void *vemva, size_t size, int syncnum, long long mode_flag) {
    return api_guard<int>("veo_shared_mem_open", -1, [&]() -> int {
        VeProc *p = nullptr;
        const char *why = "";
        if (int err = check_area(vemva, size, syncnum, mode_flag, &p, &why))
            return fail(err, "veo_shared_mem_open", why);
        uint64_t addr = vemva_of_hmem(vemva);
        if (addr >= kAttachBase && p->translate(addr, size) != nullptr)
            return fail(EACCES, "veo_shared_mem_open",
                        "the memory is another process's attached area");
        if (!p->allocator().pages_in_use(addr, size, config().page_size))
            return fail(ENOMEM, "veo_shared_mem_open",
                        "the range is not mapped VE memory of the process");
        if (!p->alive())
            return fail(EBUSY, "veo_shared_mem_open", "the VE process is gone");
        VeshmAreaKey key{addr, size, mode_flag, syncnum, 0};
        if (int err = control(p, ControlType::register_area, &key, sizeof key))
            return fail(err, "veo_shared_mem_open", "the VE process refused the registration");
        return 0;
    });
}

VEO_API int veo_shared_mem_close(void *vemva, size_t size, int syncnum, long long mode_flag) {
    return api_guard<int>("veo_shared_mem_close", -1, [&]() -> int {
        VeProc *p = nullptr;
        const char *why = "";
        if (int err = check_area(vemva, size, syncnum, mode_flag, &p, &why))
            return fail(err, "veo_shared_mem_close", why);
        if (!p->alive())
            return fail(EBUSY, "veo_shared_mem_close", "the VE process is gone");
        VeshmAreaKey key{vemva_of_hmem(vemva), size, mode_flag, syncnum, 0};
        if (int err = control(p, ControlType::unregister_area, &key, sizeof key))
            return fail(err, "veo_shared_mem_close", "no area is open with these values");
        return 0;
    });
}

namespace {

void *attach_local(VeProc *p, uint64_t vemva, size_t size) {
    const char *fn = "veo_shared_mem_attach";
    if (!aligned(vemva, config().page_size) || !aligned(size, config().page_size))
        return fail_ptr(EINVAL, fn, "VE_MEM_LOCAL needs VE-page-aligned address and size");
    uint8_t *host = p->translate(vemva, size);
    if (host == nullptr || vemva >= kAttachBase ||
        !p->allocator().pages_in_use(vemva, size, config().page_size))
        return fail_ptr(EFAULT, fn, "VE_MEM_LOCAL range is not mapped memory of the process");
    uint64_t vehva = p->map_dma(DmaatbEntry::local(host, size, p->memory_mapping()));
    if (vehva == 0)
        return fail_ptr(ENOMEM, fn, "DMAATB full");
    return (void *)vehva;
}

} // namespace

VEO_API void *veo_shared_mem_attach(veo_proc_handle *h, pid_t pid, void *veshm_vemva, size_t size,
                                    int syncnum, long long mode_flag) {
    return api_guard<void *>("veo_shared_mem_attach", (void *)-1, [&]() -> void * {
        const char *fn = "veo_shared_mem_attach";
        const PlatformConfig &cfg = config();
        if (!cfg.veshm_enabled)
            return fail_ptr(ENOTSUP, fn, "VESHM is disabled (VESHM_IVED=off)");
        if (!live_handle(h))
            return fail_ptr(EINVAL, fn, "NULL process handle");
        VeProc *p = from_handle(h);
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
        if (!p->alive())
            return fail_ptr(EBUSY, fn, "the attaching VE process is gone");
        uint64_t vemva = vemva_of_hmem(veshm_vemva);
        if (kind == VE_MEM_LOCAL) {
            if (pid != p->pid())
                return fail_ptr(EINVAL, fn, "VE_MEM_LOCAL takes the process's own pid");
            return attach_local(p, vemva, size);
        }
        if (!aligned(vemva, cfg.page_size) || !aligned(size, cfg.page_size))
            return fail_ptr(EINVAL, fn, "address or size not aligned to the VE page size");

        // Room first, so a full table costs no round trip to the owner.
        uint64_t pages = (size + cfg.page_size - 1) / cfg.page_size;
        if (kind == VE_REGISTER_VEHVA && p->dmaatb().pages_used() + pages > p->dmaatb().capacity())
            return fail_ptr(ENOMEM, fn, "DMAATB full");
        uint64_t at = 0;
        if (kind == VE_REGISTER_VEMVA && (at = p->reserve_vemva_range(size, cfg.page_size)) == 0)
            return fail_ptr(ENOMEM, fn, "no VEMVA space left for attachments");

        AttachRequest req{
            kAttachRequestMagic,
            (uint32_t)(kind == VE_REGISTER_VEHVA ? AttachKind::vehva : AttachKind::vemva),
            vemva,
            size,
            open_flags,
            syncnum,
            p->node(),
            0,
            0};
        RemoteArea area;
        if (int err = attach_remote(pid, req, &area)) {
            if (at)
                p->release_vemva_range(at);
            return fail_ptr(err, fn, "the owner did not grant the attachment");
        }
        if (kind == VE_REGISTER_VEMVA) {
            // VE code of the attaching process sees the area at 'at' too.
            MapRequest map{at, size, area.fd_offset, area.read_only ? 1u : 0u, 0};
            int err = control(p, ControlType::map_attachment, &map, sizeof map, area.fd);
            close_fd(area.fd);
            if (err) {
                p->release_vemva_range(at);
                return fail_ptr(err, fn, "the attaching VE process could not map the area");
            }
            p->insert_vemva_attachment(
                at, VemvaAttachment{size, area.mapping, area.token, area.read_only});
            p->publish_stats();
            return (void *)make_hmem(at, p->ident());
        }
        close_fd(area.fd);
        uint64_t vehva = p->map_dma(
            DmaatbEntry::remote(area.host, size, !area.read_only, area.mapping, area.token));
        if (vehva == 0)
            return fail_ptr(ENOMEM, fn, "DMAATB full");
        return (void *)vehva;
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
        VeProc *p = from_handle(h);
        if (!p->alive())
            return fail(EBUSY, fn, "the VE process is gone");
        if (mode_flag == VE_REGISTER_VEMVA) {
            if (!is_ve(veshm_addr) || ident_of_hmem(veshm_addr) != p->ident())
                return fail(ECANCELED, fn, "not an HMEM address of this process");
            uint64_t at = vemva_of_hmem(veshm_addr);
            VemvaAttachment a;
            if (!p->remove_vemva_attachment(at, &a))
                return fail(ECANCELED, fn, "no such attachment");
            MapRequest unmap{at, a.size, 0, 0, 0};
            int err = control(p, ControlType::unmap_attachment, &unmap, sizeof unmap);
            a.attachment.reset();
            p->release_vemva_range(at);
            p->publish_stats();
            prune_dead_owner_links(); // the owner may have ended: close the link now
            if (err)
                return fail(err, fn, "the VE process could not unmap the area");
            return 0;
        }
        DmaatbEntry e;
        DmaatbKind kind = mode_flag == VE_MEM_LOCAL ? DmaatbKind::local : DmaatbKind::attachment;
        if (!p->unmap_dma((uint64_t)veshm_addr, kind, &e))
            return fail(ECANCELED, fn, "no such attachment");
        e.attachment.reset();
        prune_dead_owner_links(); // the owner may have ended: close the link now
        return 0;
    });
}
