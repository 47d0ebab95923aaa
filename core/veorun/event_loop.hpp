// The VE process's single-threaded event loop: control requests from its VH
// and VESHM attach connections from other processes are all served here, so
// the VESHM registry needs no locks.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

namespace veo::emu {

class EventLoop {
  public:
    // Called when fd is readable or hung up; return false to stop watching it.
    using Handler = std::function<bool(int fd, uint32_t events)>;

    EventLoop();
    ~EventLoop();
    bool watch(int fd, Handler handler);
    void unwatch(int fd);
    // Runs until stop() is called from a handler.
    void run();
    void stop() { running_ = false; }

  private:
    int epfd_;
    bool running_ = true;
    std::unordered_map<int, Handler> handlers_;
};

} // namespace veo::emu
