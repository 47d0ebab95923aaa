#include "veorun/event_loop.hpp"

#include <cerrno>
#include <sys/epoll.h>
#include <unistd.h>

namespace veo::emu {

EventLoop::EventLoop() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {}
EventLoop::~EventLoop() {
    close(epfd_);
}

bool EventLoop::watch(int fd, Handler handler) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0)
        return false;
    handlers_[fd] = std::move(handler);
    return true;
}

void EventLoop::unwatch(int fd) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

void EventLoop::run() {
    epoll_event events[32];
    while (running_) {
        int n = epoll_wait(epfd_, events, 32, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return;
        for (int i = 0; i < n && running_; ++i) {
            int fd = events[i].data.fd;
            auto it = handlers_.find(fd);
            if (it == handlers_.end())
                continue;
            // The handler may unwatch fds, so call a copy.
            Handler h = it->second;
            if (!h(fd, events[i].events))
                unwatch(fd);
        }
    }
}

} // namespace veo::emu
