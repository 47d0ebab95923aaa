// VH side of the control socket to a VE process: one request, one reply,
// serialised by a mutex. Control paths only; data never travels here.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "wire/control_protocol.hpp"

namespace veo::emu {

class ControlChannel {
  public:
    explicit ControlChannel(int fd) : fd_(fd) {}
    ~ControlChannel();
    ControlChannel(const ControlChannel &) = delete;
    ControlChannel &operator=(const ControlChannel &) = delete;

    // Sends a request (with an optional descriptor) and waits for its reply.
    // Returns 0 with *error / *value / payload set; -EPIPE when the VE
    // process could not be reached, -ECANCELED when it ended before replying. A descriptor in the
    // reply is stored in *reply_fd (or closed if reply_fd is null).
    int call(ControlType type, const void *payload, size_t len, int *error, uint64_t *value,
             std::vector<uint8_t> *reply_payload = nullptr, int send_fd = -1,
             int *reply_fd = nullptr);
    // True once a request failed, or when the VE process has ended since (its
    // end hung up), so callers that send nothing still learn it is gone.
    bool broken() const;
    int fd() const { return fd_; }
    // Closes the socket: the VE process sees the hang-up and exits.
    void shutdown();

  private:
    std::mutex mutex_;
    int fd_;
    uint32_t seq_ = 0;
    bool broken_ = false;
};

} // namespace veo::emu
