// Counters a VH keeps about each of its VE processes in a page it shares with
// that VE process, so the VE process can answer veshm-info about state that
// lives in the VH (allocations, DMAATB) without asking it.
#pragma once

#include <atomic>
#include <cstdint>

namespace veo::emu {

struct ProcStats {
    std::atomic<uint64_t> memory_allocated;
    std::atomic<uint32_t> dmaatb_pages;
    std::atomic<uint32_t> dmaatb_capacity;
    std::atomic<uint32_t> vemva_attachments;
    std::atomic<uint32_t> vehva_attachments;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared between processes");

inline constexpr size_t kProcStatsSize = 4096;

} // namespace veo::emu
