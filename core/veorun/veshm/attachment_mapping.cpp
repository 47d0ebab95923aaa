#include "veorun/veshm/attachment_mapping.hpp"

#include "sys/config.hpp"
#include "veorun/ve_process.hpp"
#include "wire/control_protocol.hpp"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

namespace veo::emu {

namespace {

ControlResult on_map(const uint8_t *p, size_t len, const int *fds, int) {
    ControlResult r;
    MapRequest req;
    if (!read_payload(p, len, &req)) {
        close(fds[0]);
        r.error = EINVAL;
        return r;
    }
    // VE code of this process sees the attached area at req.vemva.
    int prot = PROT_READ | (req.read_only ? 0 : PROT_WRITE);
    void *want = (void *)req.vemva;
    void *got =
        mmap(want, req.size, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, fds[0], (off_t)req.fd_offset);
    if (got == MAP_FAILED || got != want) {
        r.error = got == MAP_FAILED ? errno : EEXIST;
        if (got != MAP_FAILED)
            munmap(got, req.size);
    }
    close(fds[0]);
    return r;
}

ControlResult on_unmap(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    MapRequest req;
    if (!read_payload(p, len, &req)) {
        r.error = EINVAL;
        return r;
    }
    if (req.vemva < kAttachBase || req.vemva + req.size > kAttachLimit ||
        munmap((void *)req.vemva, req.size) < 0)
        r.error = EINVAL;
    return r;
}

} // namespace

void register_attachment_mapping_handlers() {
    register_control_handler(ControlType::map_attachment, on_map, 1);
    register_control_handler(ControlType::unmap_attachment, on_unmap);
}

} // namespace veo::emu
