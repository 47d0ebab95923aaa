// What a VE process does with bytes an attaching process sends on its VESHM
// connection: any local process can connect, so every datagram is hostile
// until a decoder accepts it, and an accepted one must hold the invariants
// the owner relies on afterwards.
#include "wire/veshm_protocol.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace veo::emu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AttachRequest req;
    DetachNotice notice;
    bool is_request = decode_attach_request(data, size, &req);
    bool is_notice = decode_detach_notice(data, size, &notice);
    bool is_info = decode_info_request(data, size);
    // The owner tries them in turn: one datagram must never be two messages.
    if ((int)is_request + (int)is_notice + (int)is_info > 1)
        abort();
    if (is_request) {
        if (req.magic != kAttachRequestMagic || req.size == 0 || req.vemva + req.size < req.vemva ||
            req.attacher_node < 0)
            abort();
        if (req.kind != (uint32_t)AttachKind::vehva && req.kind != (uint32_t)AttachKind::vemva)
            abort();
        // Accepted means exactly these bytes, nothing dropped or invented.
        if (size != sizeof req || memcmp(&req, data, size) != 0)
            abort();
    }
    if (is_notice && (size != sizeof notice || memcmp(&notice, data, size) != 0))
        abort();
    if (is_info && size != sizeof(InfoRequest))
        abort();
    return 0;
}
