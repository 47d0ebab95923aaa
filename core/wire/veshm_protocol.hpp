// Wire format between an attaching process and the VE process that owns a
// VESHM area. Both ends run our code, but the owner must not trust the bytes:
// any local process can connect, so every field is checked by decode_*().
//
// An attaching process keeps one connection per owner. Each attachment has a
// token the attacher picks; a detach notice names it, and a closed connection
// detaches everything that came through it (so a dead attacher leaves nothing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace veo::emu {

inline constexpr uint32_t kAttachRequestMagic = 0x56455241; // "VERA"
inline constexpr uint32_t kAttachReplyMagic = 0x56455250;   // "VERP"
inline constexpr uint32_t kDetachNoticeMagic = 0x56455244;  // "VERD"

enum class AttachKind : uint32_t { vehva = 1, vemva = 2 };

struct AttachRequest {
    uint32_t magic;
    uint32_t kind; // AttachKind
    uint64_t vemva;
    uint64_t size;
    int64_t open_flags; // the flags the area was opened with
    int32_t syncnum;
    int32_t attacher_node;
    uint32_t token;
    uint32_t pad;
};

struct AttachReply {
    uint32_t magic;
    int32_t error; // 0 or a positive errno
    int32_t owner_node;
    uint32_t read_only;
    uint64_t fd_offset; // where vemva lies in the descriptor sent along
    uint32_t token;
    uint32_t pad;
};

struct DetachNotice {
    uint32_t magic;
    uint32_t token;
};

// What a VE process tells about itself (veshm-info). Same user only.
inline constexpr uint32_t kInfoRequestMagic = 0x56454951; // "VEIQ"
inline constexpr uint32_t kInfoReplyMagic = 0x56454950;   // "VEIP"
inline constexpr uint32_t kInfoMaxAreas = 1024;

struct InfoRequest {
    uint32_t magic;
    uint32_t pad;
};

struct AreaInfo {
    uint64_t vemva;
    uint64_t size;
    int64_t flags;
    uint32_t attachments;
    uint32_t closed; // 1: closed by its owner, still attached
};

struct InfoReply {
    uint32_t magic;
    int32_t error;
    int32_t node;
    int32_t vh_pid;
    uint32_t swapped;
    uint32_t area_count; // AreaInfo records following this struct
    uint64_t memory_size;
    uint64_t memory_resident; // pages of VE memory that hold data
    uint64_t memory_allocated;
    uint32_t dmaatb_pages, dmaatb_capacity;
    uint32_t pciatb_pages, pciatb_capacity;
    uint32_t vemva_attachments, vehva_attachments;
};

// False unless buf holds exactly one well-formed message.
bool decode_attach_request(const void *buf, size_t len, AttachRequest *out);
bool decode_attach_reply(const void *buf, size_t len, AttachReply *out);
bool decode_detach_notice(const void *buf, size_t len, DetachNotice *out);
bool decode_info_request(const void *buf, size_t len);
// On success areas holds reply.area_count records.
bool decode_info_reply(const void *buf, size_t len, InfoReply *out, std::vector<AreaInfo> *areas);

} // namespace veo::emu
