// VE code execution between a VH process and its VE process (veorun).
//
// Libraries, symbols and the life of contexts are control requests (types
// 100.. on the control socket). Calls never touch the socket: each context
// is a thread in veorun that serves a ring in a memfd both processes map.
// The VH writes a slot and bumps `submitted`; the VE thread runs the slots
// strictly in order and bumps `completed`. Both sides spin briefly and then
// sleep on the counter with a futex. A sleeper raises its side's flag
// first; the other side takes the flag down (exchange) and wakes, so one
// wake-up serves a whole burst and a busy pipeline makes no system call.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace veo::emu {

// Control requests (ControlType values) of VE code execution.
enum class ExecRequest : uint32_t {
    load_library = 100,   // path bytes (no NUL) -> value: library handle (0: failed)
    unload_library = 101, // uint64 handle -> error
    get_sym = 102,        // SymRequest + name bytes -> value: address (0: absent)
    open_context = 103,   // OpenContextRequest + ring memfd -> value: context id
    close_context = 104,  // uint32 context id -> error (its thread has ended)
};

struct SymRequest {
    uint64_t library; // 0: every library and veorun itself
};

struct OpenContextRequest {
    uint64_t stack_size; // 0: the default
};

inline constexpr int kMaxCallArgs = 256; // VEO_MAX_NUM_ARGS
inline constexpr uint32_t kRingSlots = 256;

// How the VE thread passes an argument; integers arrive sign- or
// zero-extended to 64 bits, float and double as their bits.
enum class ArgType : uint8_t { u64 = 0, i64, u32, i32, u16, i16, u8, i8, dbl, flt };

enum class SlotKind : uint32_t {
    call = 1, // call `addr` with the arguments
    gate = 2, // a VH-side request: hold the context until the VH released it
    quit = 3, // end the context thread (after everything before it)
};

enum GateState : uint32_t { gate_closed = 0, gate_reached = 1, gate_released = 2 };

struct alignas(64) RingSlot {
    uint32_t kind;
    uint32_t nargs;
    uint64_t addr;
    std::atomic<uint32_t> gate; // futex word of a gate slot
    // Written by whoever completes the slot (the VE thread, or a VH helper
    // thread for a gate) and read by any VH thread: atomics, because the
    // ordering between them passes through the other process.
    std::atomic<uint32_t> status; // veo_command_state
    std::atomic<uint64_t> result;
    uint8_t types[kMaxCallArgs];
    uint64_t args[kMaxCallArgs];
};

struct RingHeader {
    // Written by the VH: requests published so far (futex word of the VE thread).
    alignas(64) std::atomic<uint32_t> submitted;
    std::atomic<uint32_t> ve_sleeping;
    // Written by the VE thread: requests finished so far (futex word of VH waiters).
    alignas(64) std::atomic<uint32_t> completed;
    std::atomic<uint32_t> vh_sleeping;
    // Set by veorun when its VE code crashed: nothing will complete any more.
    std::atomic<uint32_t> dead;
};

struct Ring {
    RingHeader header;
    RingSlot slots[kRingSlots];
};

inline constexpr size_t kRingBytes = (sizeof(Ring) + 4095) & ~size_t(4095);

static_assert(std::atomic<uint32_t>::is_always_lock_free, "shared between processes");

} // namespace veo::emu
