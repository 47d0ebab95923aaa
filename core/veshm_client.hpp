// The attaching side of VESHM: asks the owning VE process for an area and
// maps what it hands over into this VH process.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "common/veshm_protocol.hpp"
#include "mapping.hpp"

namespace veo::emu {

struct RemoteArea {
    MappingRef mapping; // the area, mapped here
    uint8_t *host = nullptr;
    bool read_only = false;
    int owner_node = -1;
    int connection = -1; // stays open for the attachment's lifetime
    int fd = -1;         // the owner's memory descriptor (caller closes it)
    uint64_t fd_offset = 0;
};

// 0 or a positive errno (ESRCH, ENOENT, EACCES, EAGAIN, ENOMEM, ECANCELED...).
int attach_remote(pid_t owner, const AttachRequest &request, RemoteArea *out);

} // namespace veo::emu
