#include "lib/veshm/veshm_areas.hpp"

#include "lib/memory/hmem.hpp"
#include "lib/proc/proc.hpp"
#include "lib/veshm/veshm_attacher.hpp"
#include "sys/config.hpp"
#include "sys/unix_socket.hpp"

#include <cerrno>

namespace veo::emu {

namespace {

bool aligned(uint64_t v, uint64_t a) {
    return (v & (a - 1)) == 0;
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

int attach_local(VeProc *p, uint64_t vemva, size_t size, uint64_t *out, const char **why) {
    if (!aligned(vemva, config().page_size) || !aligned(size, config().page_size))
        return *why = "VE_MEM_LOCAL needs VE-page-aligned address and size", EINVAL;
    uint8_t *host = p->translate(vemva, size);
    if (host == nullptr || vemva >= kAttachBase ||
        !p->allocator().pages_in_use(vemva, size, config().page_size))
        return *why = "VE_MEM_LOCAL range is not mapped memory of the process", EFAULT;
    if ((*out = p->map_dma(DmaatbEntry::local(host, size, p->memory_mapping()))) == 0)
        return *why = "DMAATB full", ENOMEM;
    return 0;
}

} // namespace

int open_area(VeProc *p, uint64_t vemva, size_t size, int syncnum, long long flags,
              const char **why) {
    if (vemva >= kAttachBase && p->translate(vemva, size) != nullptr)
        return *why = "the memory is another process's attached area", EACCES;
    if (!p->allocator().pages_in_use(vemva, size, config().page_size))
        return *why = "the range is not mapped VE memory of the process", ENOMEM;
    if (!p->alive())
        return *why = "the VE process is gone", EBUSY;
    VeshmAreaKey key{vemva, size, flags, syncnum, 0};
    if (int err = control(p, ControlType::register_area, &key, sizeof key))
        return *why = "the VE process refused the registration", err;
    return 0;
}

int close_area(VeProc *p, uint64_t vemva, size_t size, int syncnum, long long flags,
               const char **why) {
    if (!p->alive())
        return *why = "the VE process is gone", EBUSY;
    VeshmAreaKey key{vemva, size, flags, syncnum, 0};
    if (int err = control(p, ControlType::unregister_area, &key, sizeof key))
        return *why = "no area is open with these values", err;
    return 0;
}

int attach_area(VeProc *p, pid_t owner, uint64_t vemva, size_t size, int syncnum,
                long long open_flags, AttachInto into, uint64_t *out, const char **why) {
    const PlatformConfig &cfg = config();
    if (!p->alive())
        return *why = "the attaching VE process is gone", EBUSY;
    if (into == AttachInto::local) {
        if (owner != p->pid())
            return *why = "VE_MEM_LOCAL takes the process's own pid", EINVAL;
        return attach_local(p, vemva, size, out, why);
    }
    if (!aligned(vemva, cfg.page_size) || !aligned(size, cfg.page_size))
        return *why = "address or size not aligned to the VE page size", EINVAL;
    // Room first, so a full table costs no round trip to the owner.
    uint64_t pages = (size + cfg.page_size - 1) / cfg.page_size;
    if (into == AttachInto::vehva && p->dmaatb().pages_used() + pages > p->dmaatb().capacity())
        return *why = "DMAATB full", ENOMEM;
    uint64_t at = 0;
    if (into == AttachInto::vemva && (at = p->reserve_vemva_range(size, cfg.page_size)) == 0)
        return *why = "no VEMVA space left for attachments", ENOMEM;

    AttachRequest req{kAttachRequestMagic,
                      (uint32_t)(into == AttachInto::vehva ? AttachKind::vehva : AttachKind::vemva),
                      vemva,
                      size,
                      open_flags,
                      syncnum,
                      p->node(),
                      0,
                      0};
    RemoteArea area;
    if (int err = attach_remote(owner, req, &area)) {
        if (at)
            p->release_vemva_range(at);
        return *why = "the owner did not grant the attachment", err;
    }
    if (into == AttachInto::vemva) {
        // VE code of the attaching process sees the area at 'at' too.
        MapRequest map{at, size, area.fd_offset, area.read_only ? 1u : 0u, 0};
        int err = control(p, ControlType::map_attachment, &map, sizeof map, area.fd);
        close_fd(area.fd);
        if (err) {
            p->release_vemva_range(at);
            return *why = "the attaching VE process could not map the area", err;
        }
        p->insert_vemva_attachment(at,
                                   VemvaAttachment{size, area.mapping, area.token, area.read_only});
        p->publish_stats();
        *out = make_hmem(at, p->ident());
        return 0;
    }
    close_fd(area.fd);
    *out =
        p->map_dma(DmaatbEntry::remote(area.host, size, !area.read_only, area.mapping, area.token));
    return *out == 0 ? (*why = "DMAATB full", ENOMEM) : 0;
}

int detach_area(VeProc *p, uint64_t addr, AttachInto from, const char **why) {
    if (!p->alive())
        return *why = "the VE process is gone", EBUSY;
    if (from == AttachInto::vemva) {
        if (!is_ve((void *)addr) || ident_of_hmem((void *)addr) != p->ident())
            return *why = "not an HMEM address of this process", ECANCELED;
        uint64_t at = vemva_of_hmem((void *)addr);
        VemvaAttachment a;
        if (!p->remove_vemva_attachment(at, &a))
            return *why = "no such attachment", ECANCELED;
        MapRequest unmap{at, a.size, 0, 0, 0};
        int err = control(p, ControlType::unmap_attachment, &unmap, sizeof unmap);
        a.attachment.reset();
        p->release_vemva_range(at);
        p->publish_stats();
        prune_dead_owner_links(); // the owner may have ended: close the link now
        return err ? (*why = "the VE process could not unmap the area", err) : 0;
    }
    DmaatbEntry e;
    DmaatbKind kind = from == AttachInto::local ? DmaatbKind::local : DmaatbKind::attachment;
    if (!p->unmap_dma(addr, kind, &e))
        return *why = "no such attachment", ECANCELED;
    e.attachment.reset();
    prune_dead_owner_links(); // the owner may have ended: close the link now
    return 0;
}

} // namespace veo::emu
