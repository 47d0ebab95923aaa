// The owner side of VESHM in a VE process: the areas it opened, and the
// server that lets other processes of the same user attach them (and that
// hangs up on everybody else). The attaching side within a VE process is
// attachment_mapping.hpp; within a VH process, lib/veshm/veshm_attacher.hpp.
#pragma once

namespace veo::emu {

// Starts listening on the VE process's abstract name and registers the
// control handlers; 0 or -errno.
int start_veshm_service();
// Registers the VESHM control handlers only, the owner's and the attachment
// mapping's (what start_veshm_service does before it listens); for tests that
// feed control messages directly.
void register_veshm_control_handlers();

} // namespace veo::emu
