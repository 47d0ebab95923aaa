#include "raw_client.hpp"

#include "sys/unix_socket.hpp"
#include "wire/veshm_rendezvous.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace veshm_security {

using namespace veo::emu;

// An attacker trusts no credentials: the first name that claims pid will do.
int raw_connect(pid_t pid) {
    int fd = -ESRCH;
    for (const ServiceName &s : list_veshm_services(pid))
        if ((fd = connect_abstract(s.name)) >= 0)
            break;
    return fd;
}

RawAttachResult raw_attach(int sock, const AttachRequest &request) {
    RawAttachResult r;
    if ((r.rc = send_message(sock, &request, sizeof request)) < 0)
        return r;
    alignas(8) uint8_t buf[sizeof(AttachReply) + 64];
    int fds[kMaxFdsPerMessage];
    int nfds = kMaxFdsPerMessage;
    ssize_t n = recv_message(sock, buf, sizeof buf, fds, &nfds);
    r.descriptors = n >= 0 ? nfds : 0;
    for (int i = 0; i < r.descriptors; ++i)
        close(fds[i]);
    if (n < 0) {
        r.rc = (int)n;
    } else if (!decode_attach_reply(buf, (size_t)n, &r.reply)) {
        r.rc = -EBADMSG;
    }
    return r;
}

RawInfoResult raw_info(int sock) {
    RawInfoResult r;
    InfoRequest req{kInfoRequestMagic, 0};
    if ((r.rc = send_message(sock, &req, sizeof req)) < 0)
        return r;
    static uint8_t buf[sizeof(InfoReply) + kInfoMaxAreas * sizeof(AreaInfo)];
    ssize_t n = recv_message(sock, buf, sizeof buf);
    if (n < 0) {
        r.rc = (int)n;
        return r;
    }
    r.length = (size_t)n;
    if (r.length >= sizeof r.reply)
        memcpy(&r.reply, buf, sizeof r.reply);
    else
        r.rc = -EBADMSG;
    return r;
}

int raw_send(int sock, const void *buf, size_t len) {
    return send_message(sock, buf, len);
}

bool raw_closed_by_peer(int sock, int timeout_ms) {
    pollfd p{sock, POLLRDHUP, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

} // namespace veshm_security
