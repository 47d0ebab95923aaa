// VE code in the VE process: libraries (dlopen), symbols, and the context
// threads that run calls from their rings (see common/exec_protocol.hpp).
#pragma once

namespace veo::emu {

// Registers the control handlers and the crash handlers; 0 or -errno.
int start_exec_service();

} // namespace veo::emu
