// veo_arch_number_sysfs (veo_get_arch_info.h). A real VH reads the number from
// the VE device's sysfs entry; the emulated nodes have none, so the answer is
// veo_get_ve_arch()'s, the one place the emulated architecture is decided.
#include "lib/api/api.hpp"
#include "sys/config.hpp"

#include "ve_offload.h"
#include "veo_get_arch_info.h"

using namespace veo::emu;

VEO_API int veo_arch_number_sysfs(int ve_node_number) {
    return api_guard<int>("veo_arch_number_sysfs", -1, [&]() -> int {
        // -1 asks for the first VE device present, as the sysfs scan finds it.
        if (ve_node_number == -1)
            ve_node_number = 0;
        if (ve_node_number < 0 || ve_node_number >= config().nodes)
            return -1;
        return veo_get_ve_arch(ve_node_number);
    });
}
