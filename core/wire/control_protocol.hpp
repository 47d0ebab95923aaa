// Requests from a VH process to the VE process (veorun) it created, over a
// SOCK_SEQPACKET socket pair. Each request gets exactly one reply, in order.
#pragma once

#include <cstddef>
#include <cstdint>

namespace veo::emu {

inline constexpr uint32_t kControlMagic = 0x5645434d; // "VECM"
inline constexpr size_t kControlMaxPayload = 8192;

enum class ControlType : uint32_t {
    // VESHM (core)
    register_area = 1,    // VeshmAreaKey -> result
    unregister_area = 2,  // VeshmAreaKey -> result
    map_attachment = 3,   // MapRequest + fd -> result
    unmap_attachment = 4, // MapRequest -> result
    set_swapped = 5,      // uint32 swapped -> result
    // 100.. VE code execution (libraries, symbols, contexts, calls)
    exec_first = 100,
};

// The first message on the control socket: whether the VE process started.
struct StartupReport {
    uint32_t magic; // kControlMagic
    int32_t error;  // 0 or a positive errno
};

struct ControlHeader {
    uint32_t magic;
    uint32_t type;
    uint32_t length; // payload bytes after the header
    uint32_t seq;
};

struct ControlReply {
    uint32_t magic;
    uint32_t seq;
    int32_t error;   // 0 or a positive errno
    uint32_t length; // payload bytes after this struct
    uint64_t value;
};

struct VeshmAreaKey {
    uint64_t vemva;
    uint64_t size;
    int64_t flags;
    int32_t syncnum;
    int32_t pad;
};

struct MapRequest {
    uint64_t vemva; // where to map in the VE process
    uint64_t size;
    uint64_t fd_offset;
    uint32_t read_only;
    uint32_t pad;
};

} // namespace veo::emu
