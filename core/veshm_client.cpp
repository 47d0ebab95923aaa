#include "veshm_client.hpp"

#include "common/log.hpp"
#include "common/unix_socket.hpp"

#include <cerrno>
#include <chrono>
#include <immintrin.h>
#include <cstring>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace veo::emu {

namespace {
// The owner answers within microseconds; waiting for it in the kernel would
// add a wake-up of this thread to every attach, so look for the reply for a
// short while first.
ssize_t recv_reply(int conn, void *buf, size_t len, int *fd, int *nfds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    do {
        int want = *nfds;
        ssize_t n = recv_message(conn, buf, len, fd, &want, MSG_DONTWAIT);
        if (n != -EAGAIN) {
            *nfds = want;
            return n;
        }
        _mm_pause();
    } while (std::chrono::steady_clock::now() < deadline);
    return recv_message(conn, buf, len, fd, nfds);
}
} // namespace

int attach_remote(pid_t owner, const AttachRequest &request, RemoteArea *out) {
    int conn = connect_abstract(veshm_service_name(owner));
    if (conn < 0) {
        VEO_LOG(debug, "attach: pid %d serves no VESHM (%s): ESRCH", (int)owner, strerror(-conn));
        return ESRCH;
    }
    // Anyone may bind a name; only the process we asked for may answer.
    pid_t peer = -1;
    if (peer_credentials(conn, &peer, nullptr) < 0 || peer != owner) {
        VEO_LOG(debug, "attach: the VESHM name of pid %d is held by pid %d: ESRCH", (int)owner,
                (int)peer);
        close(conn);
        return ESRCH;
    }
    if (send_message(conn, &request, sizeof request) < 0) {
        close(conn);
        return ECANCELED;
    }
    alignas(8) uint8_t buf[sizeof(AttachReply) + 8];
    int fd = -1, nfds = 1;
    ssize_t n = recv_reply(conn, buf, sizeof buf, &fd, &nfds);
    AttachReply reply;
    if (n <= 0 || !decode_attach_reply(buf, (size_t)n, &reply) || (reply.error == 0 && nfds != 1)) {
        if (nfds == 1)
            close(fd);
        close(conn);
        return ECANCELED; // the owner went away mid-request or answered nonsense
    }
    if (reply.error != 0) {
        if (nfds == 1)
            close(fd);
        close(conn);
        VEO_LOG(debug, "attach: owner %d refused: %s", (int)owner, strerror(reply.error));
        return reply.error;
    }
    int prot = PROT_READ | (reply.read_only ? 0 : PROT_WRITE);
    void *addr = mmap(nullptr, request.size, prot, MAP_SHARED, fd, (off_t)reply.fd_offset);
    if (addr == MAP_FAILED) {
        int err = errno;
        close(fd);
        close(conn);
        VEO_LOG(debug, "attach: mapping the area failed (%s): ENOMEM", strerror(err));
        return ENOMEM;
    }
    out->mapping = std::make_shared<Mapping>(addr, request.size);
    out->host = static_cast<uint8_t *>(addr);
    out->read_only = reply.read_only != 0;
    out->owner_node = reply.owner_node;
    out->connection = conn;
    out->fd = fd;
    out->fd_offset = reply.fd_offset;
    return 0;
}

} // namespace veo::emu
