// Wire format between an attaching process and the VE process that owns a
// VESHM area. Both ends run our code, but the owner must not trust the bytes:
// any local process can connect, so every field is checked by decode_*().
#pragma once

#include <cstddef>
#include <cstdint>

namespace veo::emu {

inline constexpr uint32_t kAttachRequestMagic = 0x56455241; // "VERA"
inline constexpr uint32_t kAttachReplyMagic = 0x56455250;   // "VERP"

enum class AttachKind : uint32_t { vehva = 1, vemva = 2 };

struct AttachRequest {
    uint32_t magic;
    uint32_t kind; // AttachKind
    uint64_t vemva;
    uint64_t size;
    int64_t open_flags; // the flags the area was opened with
    int32_t syncnum;
    int32_t attacher_node;
};

struct AttachReply {
    uint32_t magic;
    int32_t error; // 0 or a positive errno
    int32_t owner_node;
    uint32_t read_only;
    uint64_t fd_offset; // where vemva lies in the descriptor sent along
};

// False unless buf holds exactly one well-formed message.
bool decode_attach_request(const void *buf, size_t len, AttachRequest *out);
bool decode_attach_reply(const void *buf, size_t len, AttachReply *out);

} // namespace veo::emu
