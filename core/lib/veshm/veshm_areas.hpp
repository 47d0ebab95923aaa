// VESHM as a VE process of this VH does it, below the API's argument checks:
// opening and closing its own areas (a request to its VE process), attaching
// areas of others into its VEHVA or VEMVA space (through the attacher), and
// its own memory into its VEHVA space (VE_MEM_LOCAL).
//
// Each returns 0 or a positive errno of the VESHM API; *why says what failed,
// for the debug log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace veo::emu {

class VeProc;

enum class AttachInto { vehva, vemva, local };

int open_area(VeProc *p, uint64_t vemva, size_t size, int syncnum, long long flags,
              const char **why);
int close_area(VeProc *p, uint64_t vemva, size_t size, int syncnum, long long flags,
               const char **why);
// owner's area [vemva, vemva+size) opened with open_flags, into p; *out is the
// VEHVA, or the HMEM address of the VEMVA attachment.
int attach_area(VeProc *p, pid_t owner, uint64_t vemva, size_t size, int syncnum,
                long long open_flags, AttachInto into, uint64_t *out, const char **why);
// Undoes an attachment; addr is what attach_area gave.
int detach_area(VeProc *p, uint64_t addr, AttachInto from, const char **why);

} // namespace veo::emu
