#include "hostile_services.hpp"

#include "sys/unix_socket.hpp"
#include "wire/veshm_protocol.hpp"
#include "wire/veshm_rendezvous.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace veshm_security {

using namespace veo::emu;

namespace {

std::mutex held_mutex;
std::vector<int> held; // listening sockets, connections: all closed by release_all
std::thread server;
std::atomic<bool> stopping{false};
int epfd = -1;
int fake_memory = -1;

// Answers what a victim sends: every attach approved with our own memory,
// every info request with an invented VE process.
void answer(int conn) {
    alignas(8) uint8_t buf[256];
    ssize_t n;
    while ((n = recv_message(conn, buf, sizeof buf, nullptr, nullptr, MSG_DONTWAIT)) > 0) {
        AttachRequest req;
        if (decode_attach_request(buf, (size_t)n, &req)) {
            AttachReply reply{kAttachReplyMagic, 0, 0, 0, 0, req.token, 0};
            send_message(conn, &reply, sizeof reply, &fake_memory, 1);
        } else if (decode_info_request(buf, (size_t)n)) {
            InfoReply r{};
            r.magic = kInfoReplyMagic;
            r.node = 5;
            r.vh_pid = kFakeVhPid;
            r.memory_size = 1 << 30;
            send_message(conn, &r, sizeof r);
        }
    }
}

constexpr uint64_t kListening = 1ULL << 32;

void watch(int fd, bool listening) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (uint32_t)fd | (listening ? kListening : 0);
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

void serve() {
    epoll_event events[64];
    while (!stopping.load()) {
        int n = epoll_wait(epfd, events, 64, 50);
        for (int i = 0; i < n; ++i) {
            int fd = (int)(uint32_t)events[i].data.u64;
            if (!(events[i].data.u64 & kListening)) {
                answer(fd);
                continue;
            }
            int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (conn < 0)
                continue;
            {
                std::lock_guard lock(held_mutex);
                held.push_back(conn);
            }
            watch(conn, false);
            answer(conn);
        }
    }
}

void start_server() {
    if (epfd >= 0)
        return;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    fake_memory = memfd_create("fake-owner", MFD_CLOEXEC);
    if (fake_memory >= 0 && ftruncate(fake_memory, 1ULL << 30) == 0) {
        // Only the first 64 MiB hold the marker; the rest reads as zeros.
        void *p = mmap(nullptr, 64 << 20, PROT_WRITE, MAP_SHARED, fake_memory, 0);
        if (p != MAP_FAILED) {
            memset(p, kFakeByte, 64 << 20);
            munmap(p, 64 << 20);
        }
    }
    stopping = false;
    server = std::thread(serve);
}

} // namespace

int squat_names(uid_t uid, pid_t first, int count, FakeMode mode) {
    if (mode == FakeMode::approve)
        start_server();
    int bound = 0;
    for (pid_t pid = first; pid < first + count; ++pid) {
        for (const std::string &name :
             {std::string(kVeshmServicePrefix) + std::to_string(uid) + "." + std::to_string(pid),
              std::string(kVeshmServicePrefix) + std::to_string(pid)}) {
            // A silent owner never accepts: a backlog of one fills at once.
            int fd = listen_abstract(name, mode == FakeMode::silent ? 1 : 128);
            if (fd < 0)
                continue;
            ++bound;
            std::lock_guard lock(held_mutex);
            held.push_back(fd);
            if (mode == FakeMode::approve)
                watch(fd, true);
        }
    }
    return bound;
}

int flood_connections(pid_t pid, int count) {
    int connected = 0;
    std::vector<ServiceName> names = list_veshm_services(pid);
    for (int i = 0; i < count && !names.empty(); ++i) {
        const std::string &name = names[(size_t)i % names.size()].name;
        int fd = connect_abstract(name, true);
        if (fd >= 0) {
            ++connected;
            std::lock_guard lock(held_mutex);
            held.push_back(fd);
        } else if (fd == -EAGAIN) { // backlog full: let the victim's loop catch up
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    return connected;
}

void release_all() {
    stopping = true;
    if (server.joinable())
        server.join();
    std::lock_guard lock(held_mutex);
    for (int fd : held)
        close(fd);
    held.clear();
    if (epfd >= 0)
        close(epfd);
    epfd = -1;
    if (fake_memory >= 0)
        close(fake_memory);
    fake_memory = -1;
}

} // namespace veshm_security
