// The attaching side of VESHM: asks the owning VE process for an area and
// maps what it hands over into this VH process. One connection per owner is
// kept for the life of this process and shared by all attachments to it.
#pragma once

#include <cstdint>
#include <memory>
#include <sys/types.h>

#include "wire/veshm_protocol.hpp"
#include "lib/memory/mapping.hpp"

namespace veo::emu {

class OwnerLink;

// One attachment as the owner counts it; destroying it is the detach.
class AttachToken {
  public:
    AttachToken(std::shared_ptr<OwnerLink> link, uint32_t token)
        : link_(std::move(link)), token_(token) {}
    ~AttachToken();
    AttachToken(const AttachToken &) = delete;
    AttachToken &operator=(const AttachToken &) = delete;

  private:
    std::shared_ptr<OwnerLink> link_;
    uint32_t token_;
};

struct RemoteArea {
    MappingRef mapping; // the area, mapped here
    uint8_t *host = nullptr;
    bool read_only = false;
    int owner_node = -1;
    int fd = -1; // the owner's memory descriptor (caller closes it)
    uint64_t fd_offset = 0;
    std::shared_ptr<AttachToken> token;
};

// 0 or a positive errno (ESRCH, ENOENT, EACCES, EAGAIN, ENOMEM, ECANCELED...).
int attach_remote(pid_t owner, AttachRequest request, RemoteArea *out);

// After a VE process of this VH ended: drops every cached connection if all
// (this VH has no VE process left, so nothing can be attached), else those
// whose owner ended (the destroyed VE process among them: it was reaped).
// Attachments made through one keep it until released.
void forget_owner_links(bool all);

// Drops the cached connections to owners that have ended (their VE process
// hung up), so no descriptor is kept for them once nothing is attached
// through it. Nothing watches the links in between: every detach and
// forget_owner_links() (veo_proc_destroy) call this, attach prunes too.
void prune_dead_owner_links();

} // namespace veo::emu
