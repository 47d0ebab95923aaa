// The VESHM service of a VE process spoken to directly, the way any local
// process (of any user) can: what the security tests use to see exactly what
// an owner hands out, beyond what the VEO API would pass on.
#pragma once

#include "wire/veshm_protocol.hpp"

#include <cstddef>
#include <sys/types.h>

namespace veshm_security {

// Connected socket to the VESHM service of VE process pid, or -errno.
int raw_connect(pid_t pid);

struct RawAttachResult {
    int rc = 0; // 0, or -errno of the exchange itself
    veo::emu::AttachReply reply{};
    int descriptors = 0; // how many descriptors came along (closed at once)
};
RawAttachResult raw_attach(int sock, const veo::emu::AttachRequest &request);

struct RawInfoResult {
    int rc = 0;
    size_t length = 0; // bytes of the reply datagram
    veo::emu::InfoReply reply{};
};
RawInfoResult raw_info(int sock);

// Sends bytes as one datagram; 0 or -errno.
int raw_send(int sock, const void *buf, size_t len);
// True once the service closed the connection (waits up to timeout_ms).
bool raw_closed_by_peer(int sock, int timeout_ms);

} // namespace veshm_security
