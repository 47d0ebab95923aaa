// Unix sockets that carry file descriptors (SCM_RIGHTS): the only way memory
// moves between processes here, so no /proc or ptrace rules are involved.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <sys/types.h>

namespace veo::emu {

inline constexpr int kMaxFdsPerMessage = 4;

// Sends one datagram with up to kMaxFdsPerMessage descriptors; 0 or -errno.
int send_message(int sock, const void *buf, size_t len, const int *fds = nullptr, int nfds = 0);
// Receives one datagram; descriptors land in fds (close-on-exec), their count
// in *nfds. Returns the byte count, 0 on orderly shutdown, or -errno.
ssize_t recv_message(int sock, void *buf, size_t len, int *fds = nullptr, int *nfds = nullptr,
                     int flags = 0);

// recv_message on a non-blocking socket, waiting for the datagram until
// deadline at most: -ETIMEDOUT then (a silent peer costs time, not a hang).
ssize_t recv_message_until(int sock, void *buf, size_t len, int *fds, int *nfds,
                           std::chrono::steady_clock::time_point deadline);

// Abstract names vanish with their socket: nothing survives a crash. Who may
// be trusted behind one is veshm_rendezvous.hpp's business.
// Connects a SOCK_SEQPACKET socket to the abstract name; fd or -errno. A
// non-blocking socket does not wait for a listener whose backlog is full:
// -EAGAIN at once.
int connect_abstract(const std::string &name, bool nonblocking = false);
// Binds and listens (non-blocking) on the abstract name; fd or -errno.
int listen_abstract(const std::string &name, int backlog = 128);
// Credentials of the peer of a connected socket; 0 or -errno.
int peer_credentials(int sock, pid_t *pid, uid_t *uid);

// Closes fd if it is valid, preserving errno.
void close_fd(int fd);

} // namespace veo::emu
