// VE process life cycle and queries of the VEO API.
#include "lib/api/api.hpp"
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "lib/exec/exec_state.hpp"
#include "lib/proc/proc.hpp"
#include "lib/veshm/veshm_attacher.hpp"

#include "ve_offload.h"

#include <cerrno>
#include <cstdlib>

using namespace veo::emu;

namespace {
// The node of veo_proc_create(-1), as AVEO: VE_NODE_NUMBER, else node 0; an
// invalid value (-2) names no node.
int default_node() {
    int node = ve_node_number_from_environment();
    return node == -1 ? 0 : node;
}
} // namespace

VEO_API veo_proc_handle *veo_proc_create_static(int venode, char *veobin) {
    return api_guard<veo_proc_handle *>("veo_proc_create_static", nullptr,
                                        [&]() -> veo_proc_handle * {
                                            if (venode == -1)
                                                venode = default_node();
                                            return to_handle(VeProc::create(venode, veobin));
                                        });
}

VEO_API veo_proc_handle *veo_proc_create(int venode) {
    return api_guard<veo_proc_handle *>("veo_proc_create", nullptr, [&]() -> veo_proc_handle * {
        return veo_proc_create_static(venode, nullptr);
    });
}

VEO_API int veo_proc_destroy(veo_proc_handle *h) {
    return api_guard<int>("veo_proc_destroy", -1, [&]() -> int {
        if (!live_handle(h))
            return -1;
        exec_teardown(from_handle(h)); // its contexts finish what they were given
        delete from_handle(h);
        // A cached connection to the ended VE process, or to anyone once this VH
        // has no VE process left, would only hold a descriptor.
        bool any_left = false;
        for (int i = 0; i < VEO_MAX_HMEM_PROCS; ++i)
            any_left |= VeProc::by_ident(i) != nullptr;
        forget_owner_links(!any_left);
        return 0;
    });
}

VEO_API int veo_proc_identifier(veo_proc_handle *h) {
    return api_guard<int>("veo_proc_identifier", -1,
                          [&]() -> int { return !live_handle(h) ? -1 : from_handle(h)->ident(); });
}

VEO_API int veo_get_ve_arch(int venode) {
    return api_guard<int>("veo_get_ve_arch", -1, [&]() -> int {
        if (venode == -1) // as veo_proc_create(-1)
            venode = default_node();
        if (venode < 0 || venode >= config().nodes)
            return -1;
        return 1; // an emulated VE1-class (VE10B) card: 64 MiB PCIATB pages
    });
}

VEO_API const char *veo_version_string(void) {
    return "veshm " VESHM_VERSION " (AVEO 3.0.2 API)";
}

VEO_API int veo_api_version(void) {
    return VEO_API_VERSION;
}
