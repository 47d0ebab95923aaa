#include "sys/config.hpp"
#include "veorun/fault_injection.hpp"

#include "wire/control_protocol.hpp"
#include "wire/exec_protocol.hpp"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace veo::emu {

namespace {
int64_t requested_fault() {
    const char *s = veorun_fault_from_environment();
    if (s == nullptr || *s == '\0')
        return -1;
    static const struct {
        const char *name;
        ControlType type;
    } names[] = {{"register_area", ControlType::register_area},
                 {"unregister_area", ControlType::unregister_area},
                 {"map_attachment", ControlType::map_attachment},
                 {"unmap_attachment", ControlType::unmap_attachment},
                 {"set_swapped", ControlType::set_swapped},
                 {"load_library", (ControlType)ExecRequest::load_library},
                 {"unload_library", (ControlType)ExecRequest::unload_library},
                 {"get_sym", (ControlType)ExecRequest::get_sym},
                 {"open_context", (ControlType)ExecRequest::open_context},
                 {"close_context", (ControlType)ExecRequest::close_context}};
    for (const auto &n : names)
        if (strcmp(s, n.name) == 0)
            return (int64_t)n.type;
    char *end = nullptr;
    long v = strtol(s, &end, 0);
    return *end == '\0' ? v : -1;
}
} // namespace

void maybe_fail_on_request(uint32_t type) {
    static const int64_t fault = requested_fault();
    if (fault >= 0 && (uint32_t)fault == type)
        _exit(70);
}

} // namespace veo::emu
