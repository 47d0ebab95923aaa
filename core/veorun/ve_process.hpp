// State of the VE process that this veorun is: its node, its memory (mapped
// at the VEMVA the VH hands out) and the control channel to its VH.
#pragma once

#include <cstdint>
#include <cstring>
#include <sys/types.h>
#include <vector>

#include "wire/control_protocol.hpp"
#include "wire/proc_stats.hpp"
#include "veorun/event_loop.hpp"

namespace veo::emu {

struct VeProcessState {
    int node = 0;
    int control_fd = -1;
    int memfd = -1;
    int memfd_ro = -1; // read-only descriptor of the same memory, for VE_SHM_RO areas
    uint64_t memory_size = 0;
    const ProcStats *stats = nullptr; // kept up to date by the VH
    EventLoop loop;
};

VeProcessState &ve_process();

// What a control handler answers; fd (if >= 0) is sent along and then closed.
struct ControlResult {
    int error = 0;
    uint64_t value = 0;
    std::vector<uint8_t> payload;
    int fd = -1;
};

// Copies a control request's fixed-size payload into *out; false when its
// length is not exactly that of T (the handler answers EINVAL).
template <class T> bool read_payload(const uint8_t *payload, size_t len, T *out) {
    if (len != sizeof *out)
        return false;
    memcpy(out, payload, sizeof *out);
    return true;
}

// A handler gets exactly the descriptors its request type carries (the
// dispatcher refuses any other count with EINVAL and closes them), owns them
// and must close those it keeps no use for.
using ControlHandler = ControlResult (*)(const uint8_t *payload, size_t len, const int *fds,
                                         int nfds);
void register_control_handler(ControlType type, ControlHandler handler, int fds = 0);
// Decodes one control message and runs its handler (the parse step alone, so
// it can be fuzzed); takes ownership of fds; *seq gets the request's number.
ControlResult dispatch_control_message(const uint8_t *buf, size_t n, const int *fds, int nfds,
                                       uint32_t *seq);
// Reads and answers one control request; false when the VH is gone.
bool serve_control_request(int fd);

} // namespace veo::emu
