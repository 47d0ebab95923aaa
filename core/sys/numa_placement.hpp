// Places a VE node's helper processes and memory on a host NUMA node (round
// robin over the host's NUMA nodes), like a VE card sits next to one socket.
#pragma once

#include <cstddef>

namespace veo::emu {

// Host NUMA node that VE node ve_node maps to, -1 if hwloc sees none.
int numa_node_of(int ve_node);
void place_on_numa_node(int ve_node);
void bind_memory_to_numa_node(int ve_node, void *addr, size_t len);

} // namespace veo::emu
