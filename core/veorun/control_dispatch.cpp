#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "veorun/fault_injection.hpp"
#include "veorun/ve_process.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>
#include <unordered_map>

namespace veo::emu {

VeProcessState &ve_process() {
    static VeProcessState state;
    return state;
}

namespace {
struct Handler {
    ControlHandler run;
    int fds; // descriptors its requests carry
};

std::unordered_map<uint32_t, Handler> &handlers() {
    static std::unordered_map<uint32_t, Handler> table;
    return table;
}
} // namespace

void register_control_handler(ControlType type, ControlHandler handler, int fds) {
    handlers()[(uint32_t)type] = Handler{handler, fds};
}

ControlResult dispatch_control_message(const uint8_t *buf, size_t n, const int *fds, int nfds,
                                       uint32_t *seq) {
    ControlHeader hdr{};
    ControlResult result;
    if (n < sizeof hdr) {
        result.error = EINVAL;
    } else {
        memcpy(&hdr, buf, sizeof hdr);
        maybe_fail_on_request(hdr.type);
        auto it = handlers().find(hdr.type);
        if (hdr.magic != kControlMagic || hdr.length != n - sizeof hdr || it == handlers().end()) {
            result.error = ENOSYS;
        } else if (nfds != it->second.fds) {
            result.error = EINVAL;
        } else {
            result = it->second.run(buf + sizeof hdr, hdr.length, fds, nfds);
            nfds = 0; // ownership passed to the handler
        }
    }
    for (int i = 0; i < nfds; ++i)
        close(fds[i]);
    *seq = hdr.seq;
    return result;
}

namespace {
// A zero-length read is either an empty datagram or the VH's end closing.
bool vh_hung_up(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}
} // namespace

bool serve_control_request(int fd) {
    alignas(8) uint8_t buf[sizeof(ControlHeader) + kControlMaxPayload];
    int fds[kMaxFdsPerMessage];
    int nfds = kMaxFdsPerMessage;
    ssize_t n = recv_message(fd, buf, sizeof buf, fds, &nfds);
    if (n == 0 && vh_hung_up(fd))
        return false; // the VH closed its end or died: the VE process ends with it
    uint32_t seq = 0;
    ControlResult result;
    if (n == -EMSGSIZE) {
        // Oversized: recv_message dropped its descriptors; the header, if the
        // message has one, still names the request being refused.
        ControlHeader hdr{};
        memcpy(&hdr, buf, sizeof hdr);
        seq = hdr.magic == kControlMagic ? hdr.seq : 0;
        result.error = EMSGSIZE;
    } else if (n < 0) {
        return n == -EINTR || n == -EAGAIN; // the socket itself failed
    } else {
        // An empty datagram included: a malformed request is answered, not fatal.
        result = dispatch_control_message(buf, (size_t)n, fds, nfds, &seq);
    }

    std::vector<uint8_t> out(sizeof(ControlReply) + result.payload.size());
    ControlReply reply{kControlMagic, seq, result.error, (uint32_t)result.payload.size(),
                       result.value};
    memcpy(out.data(), &reply, sizeof reply);
    if (!result.payload.empty())
        memcpy(out.data() + sizeof reply, result.payload.data(), result.payload.size());
    int rc = send_message(fd, out.data(), out.size(), result.fd >= 0 ? &result.fd : nullptr,
                          result.fd >= 0 ? 1 : 0);
    close_fd(result.fd);
    if (rc < 0) {
        VEO_LOG(error, "control reply failed: %s", strerror(-rc));
        return false;
    }
    return true;
}

} // namespace veo::emu
