#include "sys/unix_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <poll.h>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace veo::emu {

int send_message(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > kMaxFdsPerMessage)
        return -EINVAL;
    iovec iov{const_cast<void *>(buf), len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    if (nfds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return (size_t)n == len ? 0 : -EMSGSIZE;
        if (errno != EINTR)
            return -errno;
    }
}

ssize_t recv_message(int sock, void *buf, size_t len, int *fds, int *nfds, int flags) {
    iovec iov{buf, len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        // Callers close the descriptors they were given: none. (Left as it
        // was, *nfds made ControlChannel::call close a garbage descriptor,
        // often the VH's stdin, when a VE process died mid-request.)
        if (nfds != nullptr)
            *nfds = 0;
        return -errno;
    }
    int got = 0;
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[kMaxFdsPerMessage];
        memcpy(received, CMSG_DATA(c), sizeof(int) * count);
        for (int i = 0; i < count; ++i) {
            // Descriptors the caller did not ask for must not leak.
            if (fds != nullptr && nfds != nullptr && got < *nfds)
                fds[got++] = received[i];
            else
                close(received[i]);
        }
    }
    if (nfds != nullptr)
        *nfds = got;
    if (msg.msg_flags & MSG_TRUNC) {
        for (int i = 0; i < got; ++i)
            close(fds[i]);
        if (nfds != nullptr)
            *nfds = 0;
        return -EMSGSIZE;
    }
    return n;
}

ssize_t recv_message_until(int sock, void *buf, size_t len, int *fds, int *nfds,
                           std::chrono::steady_clock::time_point deadline) {
    const int want = nfds != nullptr ? *nfds : 0;
    for (;;) {
        if (nfds != nullptr)
            *nfds = want;
        ssize_t n = recv_message(sock, buf, len, fds, nfds, MSG_DONTWAIT);
        if (n != -EAGAIN)
            return n;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return -ETIMEDOUT;
        pollfd p{sock, POLLIN, 0};
        int rc = ::poll(&p, 1, (int)std::min<int64_t>(left.count() + 1, INT32_MAX));
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

namespace {
socklen_t abstract_address(const std::string &name, sockaddr_un *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    size_t len = name.size() < sizeof addr->sun_path - 1 ? name.size() : sizeof addr->sun_path - 1;
    memcpy(addr->sun_path + 1, name.data(), len);
    return (socklen_t)(offsetof(sockaddr_un, sun_path) + 1 + len);
}
} // namespace

int connect_abstract(const std::string &name, bool nonblocking) {
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -errno;
    sockaddr_un addr;
    socklen_t len = abstract_address(name, &addr);
    int rc;
    do {
        rc = connect(fd, (sockaddr *)&addr, len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int listen_abstract(const std::string &name, int backlog) {
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    sockaddr_un addr;
    socklen_t len = abstract_address(name, &addr);
    if (bind(fd, (sockaddr *)&addr, len) < 0 || listen(fd, backlog) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int peer_credentials(int sock, pid_t *pid, uid_t *uid) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    if (pid)
        *pid = cred.pid;
    if (uid)
        *uid = cred.uid;
    return 0;
}

void close_fd(int fd) {
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
}

} // namespace veo::emu
