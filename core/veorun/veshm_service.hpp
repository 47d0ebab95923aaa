// The VESHM side of a VE process: the areas it opened, and the server that
// lets other processes of the same user attach them.
#pragma once

namespace veo::emu {

// Starts listening on the VE process's abstract name and registers the
// control handlers; 0 or -errno.
int start_veshm_service();

} // namespace veo::emu
