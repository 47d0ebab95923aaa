#include "wire/veshm_protocol.hpp"

#include <cerrno>
#include <cstring>

namespace veo::emu {

bool decode_attach_request(const void *buf, size_t len, AttachRequest *out) {
    if (buf == nullptr || len != sizeof(AttachRequest))
        return false;
    AttachRequest r;
    memcpy(&r, buf, sizeof r);
    if (r.magic != kAttachRequestMagic)
        return false;
    if (r.kind != (uint32_t)AttachKind::vehva && r.kind != (uint32_t)AttachKind::vemva)
        return false;
    if (r.size == 0 || r.vemva + r.size < r.vemva || r.attacher_node < 0)
        return false;
    *out = r;
    return true;
}

bool decode_attach_reply(const void *buf, size_t len, AttachReply *out) {
    if (buf == nullptr || len != sizeof(AttachReply))
        return false;
    AttachReply r;
    memcpy(&r, buf, sizeof r);
    if (r.magic != kAttachReplyMagic || r.error < 0 || r.error > 4095 || r.read_only > 1)
        return false;
    *out = r;
    return true;
}

bool decode_detach_notice(const void *buf, size_t len, DetachNotice *out) {
    if (buf == nullptr || len != sizeof(DetachNotice))
        return false;
    DetachNotice r;
    memcpy(&r, buf, sizeof r);
    if (r.magic != kDetachNoticeMagic)
        return false;
    *out = r;
    return true;
}

bool decode_info_request(const void *buf, size_t len) {
    if (buf == nullptr || len != sizeof(InfoRequest))
        return false;
    InfoRequest r;
    memcpy(&r, buf, sizeof r);
    return r.magic == kInfoRequestMagic;
}

bool decode_info_reply(const void *buf, size_t len, InfoReply *out, std::vector<AreaInfo> *areas) {
    if (buf == nullptr || len < sizeof(InfoReply))
        return false;
    InfoReply r;
    memcpy(&r, buf, sizeof r);
    if (r.magic != kInfoReplyMagic || r.error < 0 || r.area_count > kInfoMaxAreas ||
        len != sizeof r + (size_t)r.area_count * sizeof(AreaInfo))
        return false;
    areas->resize(r.area_count);
    if (r.area_count)
        memcpy(areas->data(), (const uint8_t *)buf + sizeof r, r.area_count * sizeof(AreaInfo));
    *out = r;
    return true;
}

} // namespace veo::emu
