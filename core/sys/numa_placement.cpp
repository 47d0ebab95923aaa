#include "sys/numa_placement.hpp"

#include "sys/log.hpp"

#include <hwloc.h>
#include <mutex>

namespace veo::emu {

namespace {
hwloc_topology_t topology() {
    static hwloc_topology_t topo = [] {
        hwloc_topology_t t = nullptr;
        if (hwloc_topology_init(&t) == 0 && hwloc_topology_load(t) == 0)
            return t;
        VEO_LOG(warn, "hwloc could not load the host topology; no NUMA placement");
        return (hwloc_topology_t) nullptr;
    }();
    return topo;
}

hwloc_obj_t numa_obj(int ve_node) {
    hwloc_topology_t t = topology();
    if (t == nullptr)
        return nullptr;
    int count = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    if (count <= 0)
        return nullptr;
    return hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)(ve_node % count));
}
} // namespace

int numa_node_of(int ve_node) {
    hwloc_obj_t o = numa_obj(ve_node);
    return o ? (int)o->os_index : -1;
}

void place_on_numa_node(int ve_node) {
    hwloc_obj_t o = numa_obj(ve_node);
    if (o == nullptr)
        return;
    if (hwloc_set_cpubind(topology(), o->cpuset, HWLOC_CPUBIND_PROCESS) < 0)
        VEO_LOG(debug, "binding VE node %d to NUMA node %u failed", ve_node, o->os_index);
}

void bind_memory_to_numa_node(int ve_node, void *addr, size_t len) {
    hwloc_obj_t o = numa_obj(ve_node);
    if (o == nullptr)
        return;
    // Shared memory keeps the policy in the object itself, so this places the
    // pages for every process that maps them.
    if (hwloc_set_area_membind(topology(), addr, len, o->nodeset, HWLOC_MEMBIND_BIND,
                               HWLOC_MEMBIND_BYNODESET) < 0)
        VEO_LOG(debug, "memory binding of VE node %d failed", ve_node);
}

} // namespace veo::emu
