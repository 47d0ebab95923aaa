// AVEO's HMEM encoding: bit 63 marks VE memory, bits 62..59 carry the
// process identifier, bits 58..0 the VEMVA.
#pragma once

#include <cstdint>

namespace veo::emu {

inline constexpr uint64_t kVeFlag = 1ULL << 63;
inline constexpr int kIdentShift = 59;
inline constexpr uint64_t kIdentMask = 0xfULL << kIdentShift;

inline bool is_ve(const void *addr) {
    return ((uint64_t)addr & kVeFlag) != 0;
}
inline uint64_t vemva_of_hmem(const void *addr) {
    return (uint64_t)addr & ~(kVeFlag | kIdentMask);
}
inline int ident_of_hmem(const void *addr) {
    return (int)(((uint64_t)addr & kIdentMask) >> kIdentShift);
}
inline uint64_t make_hmem(uint64_t vemva, int ident) {
    return kVeFlag | ((uint64_t)ident << kIdentShift) | (vemva & ~(kVeFlag | kIdentMask));
}

} // namespace veo::emu
