// The attaching side trusts an owner's reply only as far as its decoder
// lets it: the error must be a plain errno the API can hand on and the flags
// must be what the mapping code expects.
#include "wire/veshm_protocol.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace veo::emu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AttachReply reply;
    if (!decode_attach_reply(data, size, &reply))
        return 0;
    if (reply.magic != kAttachReplyMagic || reply.error < 0 || reply.error > 4095 ||
        reply.read_only > 1)
        abort();
    if (size != sizeof reply || memcmp(&reply, data, size) != 0)
        abort();
    return 0;
}
