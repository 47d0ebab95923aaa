// AVEO's HMEM encoding: bit 63 marks VE memory, bits 62..59 carry the
// process identifier, bits 58..0 the VEMVA.
#pragma once

#include <cstdint>

#include "veo_emu_hmem.h"

namespace veo::emu {

inline constexpr uint64_t kVeFlag = VEO_EMU_HMEM_VE_FLAG;
inline constexpr int kIdentShift = VEO_EMU_HMEM_IDENT_SHIFT;
inline constexpr uint64_t kIdentMask = VEO_EMU_HMEM_IDENT_MASK;
static_assert(kIdentMask == 0xfULL << kIdentShift &&
                  VEO_EMU_HMEM_ADDR_MASK == ~(kVeFlag | kIdentMask),
              "the public header and the encoding agree");

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
