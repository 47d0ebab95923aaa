#include "lib/veshm/veshm_attacher.hpp"

#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "wire/veshm_rendezvous.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <immintrin.h>
#include <mutex>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace veo::emu {

class OwnerLink {
  public:
    OwnerLink(int fd, pid_t owner) : fd_(fd), owner_(owner), creator_(getpid()) {}
    ~OwnerLink() { close(fd_); }

    // A link made before a fork belongs to the parent: the child must neither
    // use it nor tell the owner anything through it.
    bool ours() const { return creator_ == getpid(); }
    int fd() const { return fd_; }
    bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }
    // The owner closed its end (it died): the link can only fail now.
    bool hung_up() const {
        if (abandoned())
            return true;
        pollfd p{fd_, POLLRDHUP, 0};
        return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
    }

    // 0 with *reply and *fd set; ECANCELED if the link broke, EBUSY if the
    // owner did not answer in time (the link is then abandoned: a late reply
    // must not be taken for the answer to a later request).
    int request(AttachRequest req, AttachReply *reply, int *fd, uint32_t *token) {
        std::lock_guard lock(mutex_);
        if (abandoned())
            return ECANCELED;
        req.token = *token = next_token_++;
        if (send_message(fd_, &req, sizeof req) < 0)
            return ECANCELED;
        alignas(8) uint8_t buf[sizeof(AttachReply) + 8];
        int nfds = 1;
        ssize_t n = receive(buf, sizeof buf, fd, &nfds);
        if (n == -ETIMEDOUT) {
            abandoned_.store(true, std::memory_order_release);
            VEO_LOG(debug, "attach: owner %d did not answer in time: EBUSY", (int)owner_);
            return EBUSY;
        }
        if (n <= 0 || !decode_attach_reply(buf, (size_t)n, reply) || reply->token != req.token ||
            (reply->error == 0 && nfds != 1)) {
            if (nfds == 1)
                close(*fd);
            return ECANCELED; // the owner went away mid-request or answered nonsense
        }
        if (nfds != 1)
            *fd = -1;
        return 0;
    }

    void detach(uint32_t token) {
        if (!ours())
            return;
        std::lock_guard lock(mutex_);
        DetachNotice notice{kDetachNoticeMagic, token};
        send_message(fd_, &notice, sizeof notice); // a dead owner needs no notice
    }

  private:
    // The owner answers within microseconds; waiting in the kernel would add a
    // wake-up of this thread to every attach, so look for the reply briefly
    // first. However long, the wait ends at the peer deadline.
    ssize_t receive(void *buf, size_t len, int *fd, int *nfds) {
        auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        do {
            int want = *nfds;
            ssize_t n = recv_message(fd_, buf, len, fd, &want, MSG_DONTWAIT);
            if (n != -EAGAIN) {
                *nfds = want;
                return n;
            }
            _mm_pause();
        } while (std::chrono::steady_clock::now() < spin_until);
        return recv_message_until(fd_, buf, len, fd, nfds, peer_deadline());
    }

    std::mutex mutex_;
    int fd_;
    pid_t owner_;
    pid_t creator_;
    uint32_t next_token_ = 1;
    std::atomic<bool> abandoned_{false};
};

AttachToken::~AttachToken() {
    link_->detach(token_);
}

namespace {

std::mutex links_mutex;
std::unordered_map<pid_t, std::shared_ptr<OwnerLink>> links;

// Drops the links whose owner hung up; links_mutex held.
void prune_locked() {
    if (links.empty())
        return;
    // One poll() over all cached links, whatever their number: the cost of a
    // detach stays that of one system call. Reused under the lock.
    static std::vector<pollfd> fds;
    static std::vector<pid_t> owners;
    fds.clear();
    owners.clear();
    for (const auto &[pid, link] : links) {
        fds.push_back(pollfd{link->fd(), POLLRDHUP, 0});
        owners.push_back(pid);
    }
    if (::poll(fds.data(), fds.size(), 0) <= 0)
        return;
    for (size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR))
            links.erase(owners[i]);
}

// A connection to owner's VE process: the cached one, or a new one. 0, ESRCH,
// EACCES (another user's) or EBUSY (not accepting in time).
int link_to(pid_t owner, bool fresh, std::shared_ptr<OwnerLink> *out) {
    std::lock_guard lock(links_mutex);
    auto it = links.find(owner);
    if (!fresh && it != links.end() && it->second->ours() && !it->second->hung_up()) {
        *out = it->second;
        return 0;
    }
    if (it != links.end())
        links.erase(it);
    // Only the process asked for, running as this user, is ever talked to.
    int conn = connect_veshm_service(owner, peer_deadline());
    if (conn < 0) {
        VEO_LOG(debug, "attach: no VESHM service of pid %d for this user: %s", (int)owner,
                strerror(-conn));
        return -conn;
    }
    // Links to owners that have ended are dropped here, so they cannot pile up.
    prune_locked();
    *out = links[owner] = std::make_shared<OwnerLink>(conn, owner);
    return 0;
}

} // namespace

void forget_owner_links(bool all) {
    std::lock_guard lock(links_mutex);
    if (all)
        links.clear();
    else
        prune_locked();
}

void prune_dead_owner_links() {
    std::lock_guard lock(links_mutex);
    prune_locked();
}

int attach_remote(pid_t owner, AttachRequest request, RemoteArea *out) {
    AttachReply reply{};
    int fd = -1;
    uint32_t token = 0;
    std::shared_ptr<OwnerLink> link;
    int err = 0;
    // A cached link may have died since its last use; a fresh one may not.
    for (bool fresh : {false, true}) {
        if ((err = link_to(owner, fresh, &link)) != 0)
            return err;
        if ((err = link->request(request, &reply, &fd, &token)) != ECANCELED)
            break;
    }
    if (err)
        return err;
    if (reply.error != 0) {
        close_fd(fd);
        VEO_LOG(debug, "attach: owner %d refused: %s", (int)owner, strerror(reply.error));
        return reply.error;
    }
    // From here on the owner counts the attachment: the token undoes it.
    auto attachment = std::make_shared<AttachToken>(link, token);
    int prot = PROT_READ | (reply.read_only ? 0 : PROT_WRITE);
    void *addr = mmap(nullptr, request.size, prot, MAP_SHARED, fd, (off_t)reply.fd_offset);
    if (addr == MAP_FAILED) {
        int map_err = errno;
        close(fd);
        VEO_LOG(debug, "attach: mapping the area failed (%s): ENOMEM", strerror(map_err));
        return ENOMEM;
    }
    out->mapping = std::make_shared<Mapping>(addr, request.size);
    out->host = static_cast<uint8_t *>(addr);
    out->read_only = reply.read_only != 0;
    out->owner_node = reply.owner_node;
    out->fd = fd;
    out->fd_offset = reply.fd_offset;
    out->token = std::move(attachment);
    return 0;
}

} // namespace veo::emu
