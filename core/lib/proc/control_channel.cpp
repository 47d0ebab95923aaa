#include "lib/proc/control_channel.hpp"

#include "sys/unix_socket.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace veo::emu {

ControlChannel::~ControlChannel() {
    shutdown();
}

bool ControlChannel::broken() const {
    if (broken_)
        return true;
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

void ControlChannel::shutdown() {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0)
        close(fd_);
    fd_ = -1;
    broken_ = true;
}

int ControlChannel::call(ControlType type, const void *payload, size_t len, int *error,
                         uint64_t *value, std::vector<uint8_t> *reply_payload, int send_fd,
                         int *reply_fd) {
    if (len > kControlMaxPayload)
        return -EINVAL;
    std::lock_guard lock(mutex_);
    if (broken_)
        return -EPIPE;
    alignas(8) uint8_t buf[sizeof(ControlHeader) + kControlMaxPayload];
    ControlHeader hdr{kControlMagic, (uint32_t)type, (uint32_t)len, ++seq_};
    memcpy(buf, &hdr, sizeof hdr);
    if (len)
        memcpy(buf + sizeof hdr, payload, len);
    if (send_message(fd_, buf, sizeof hdr + len, send_fd >= 0 ? &send_fd : nullptr,
                     send_fd >= 0 ? 1 : 0) < 0) {
        broken_ = true;
        return -EPIPE;
    }
    alignas(8) uint8_t rbuf[sizeof(ControlReply) + kControlMaxPayload];
    int fds[1];
    int nfds = 1;
    ssize_t n = recv_message(fd_, rbuf, sizeof rbuf, fds, &nfds);
    ControlReply reply;
    if (n < (ssize_t)sizeof reply) {
        // Delivered, but the VE process ended before it answered.
        for (int i = 0; i < nfds; ++i)
            close(fds[i]);
        broken_ = true;
        return -ECANCELED;
    }
    memcpy(&reply, rbuf, sizeof reply);
    if (reply.magic != kControlMagic || reply.seq != hdr.seq ||
        reply.length != (size_t)n - sizeof reply) {
        for (int i = 0; i < nfds; ++i)
            close(fds[i]);
        broken_ = true;
        return -EPIPE;
    }
    if (nfds == 1) {
        if (reply_fd)
            *reply_fd = fds[0];
        else
            close(fds[0]);
    }
    *error = reply.error;
    if (value)
        *value = reply.value;
    if (reply_payload)
        reply_payload->assign(rbuf + sizeof reply, rbuf + n);
    return 0;
}

} // namespace veo::emu
