// The attaching side of VESHM inside a VE process: areas of other VE
// processes that its VH attached with VE_REGISTER_VEMVA are mapped here, at
// the VEMVA the VH chose, so VE code reaches them with plain loads and stores.
#pragma once

namespace veo::emu {

// Registers the map_attachment and unmap_attachment control handlers.
void register_attachment_mapping_handlers();

} // namespace veo::emu
