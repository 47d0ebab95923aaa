// Test hook: VEORUN_FAULT=<request> makes this VE process die the moment it
// receives that control request, the way a VE process can die in the middle
// of a VESHM operation. The caller then sees the documented ECANCELED.
#pragma once

#include <cstdint>

namespace veo::emu {

// Ends the process if VEORUN_FAULT names this control request type (by name,
// e.g. "register_area", or by number).
void maybe_fail_on_request(uint32_t type);

} // namespace veo::emu
