// Control requests as the VE process receives them from its VH, through the
// real dispatcher and the VESHM handlers. An input is a sequence of messages
// (2-byte little-endian length, then the bytes), so registrations can meet
// their unregistrations. Every input starts from an empty registry: what a
// run registered is unregistered again by the same dispatcher afterwards.
#include "wire/control_protocol.hpp"
#include "veorun/ve_process.hpp"
#include "veorun/veshm/owner_service.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace veo::emu;

namespace {

ControlResult dispatch(ControlType type, const void *payload, uint32_t len) {
    std::vector<uint8_t> msg(sizeof(ControlHeader) + len);
    ControlHeader hdr{kControlMagic, (uint32_t)type, len, 0};
    memcpy(msg.data(), &hdr, sizeof hdr);
    memcpy(msg.data() + sizeof hdr, payload, len);
    uint32_t seq = 0;
    return dispatch_control_message(msg.data(), msg.size(), nullptr, 0, &seq);
}

// The registry's notion of "the same area" (the padding is not part of it).
bool same_area(const VeshmAreaKey &a, const VeshmAreaKey &b) {
    return a.vemva == b.vemva && a.size == b.size && a.flags == b.flags && a.syncnum == b.syncnum;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready = [] {
        register_veshm_control_handlers();
        return true;
    }();
    (void)ready;
    std::vector<VeshmAreaKey> registered;
    while (size >= 2) {
        size_t len = (size_t)data[0] | ((size_t)data[1] << 8);
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        if (len > sizeof(ControlHeader) + kControlMaxPayload)
            len = sizeof(ControlHeader) + kControlMaxPayload;
        uint32_t seq = 0;
        ControlResult r = dispatch_control_message(data, len, nullptr, 0, &seq);
        if (r.error < 0 || r.fd >= 0 || r.payload.size() > kControlMaxPayload)
            abort();
        // Malformed requests must fail; a well-formed header says what it was.
        ControlHeader hdr{};
        if (len >= sizeof hdr)
            memcpy(&hdr, data, sizeof hdr);
        bool well_formed =
            len >= sizeof hdr && hdr.magic == kControlMagic && hdr.length == len - sizeof hdr;
        if (!well_formed && r.error == 0)
            abort();
        if (well_formed && r.error == 0 && hdr.type == (uint32_t)ControlType::register_area) {
            VeshmAreaKey key;
            memcpy(&key, data + sizeof hdr, sizeof key);
            registered.push_back(key);
        }
        if (well_formed && r.error == 0 && hdr.type == (uint32_t)ControlType::unregister_area) {
            VeshmAreaKey key;
            memcpy(&key, data + sizeof hdr, sizeof key);
            for (auto it = registered.begin(); it != registered.end(); ++it)
                if (same_area(*it, key)) {
                    registered.erase(it);
                    break;
                }
        }
        data += len;
        size -= len;
    }
    // Back to the empty registry, through the handlers themselves: each must
    // accept exactly once what it registered.
    for (const VeshmAreaKey &key : registered)
        if (dispatch(ControlType::unregister_area, &key, sizeof key).error != 0)
            abort();
    uint32_t zero = 0;
    dispatch(ControlType::set_swapped, &zero, sizeof zero);
    return 0;
}
