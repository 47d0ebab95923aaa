// The registry records a VE process reports about its VESHM areas
// (veshm-info): the reader must take exactly the records announced and never
// read past the datagram, whatever the count field claims.
#include "wire/veshm_protocol.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace veo::emu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    InfoReply reply;
    std::vector<AreaInfo> areas;
    if (!decode_info_reply(data, size, &reply, &areas))
        return 0;
    if (reply.magic != kInfoReplyMagic || reply.error < 0 || reply.area_count > kInfoMaxAreas)
        abort();
    if (areas.size() != reply.area_count || size != sizeof reply + areas.size() * sizeof(AreaInfo))
        abort();
    if (!areas.empty() &&
        memcmp(areas.data(), data + sizeof reply, areas.size() * sizeof(AreaInfo)) != 0)
        abort();
    return 0;
}
