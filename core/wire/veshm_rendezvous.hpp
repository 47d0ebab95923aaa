// How attaching processes find the VESHM service of a VE process, and why an
// impostor cannot stand in for it.
//
// A VE process listens on an abstract Unix socket named
// "veshm.ve.<uid>.<pid>" or, when someone else already holds that name (a
// squatter, or a process of another PID namespace sharing this network
// namespace), "veshm.ve.<uid>.<pid>.<random token>". The name is only a hint:
// anybody can bind any abstract name. What counts is the credential the kernel
// records for the listening socket (SO_PEERCRED): a connection is used only if
// its listener is the pid asked for and runs as this user. Nothing is named in
// the file system, so a crash leaves nothing behind.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace veo::emu {

inline constexpr const char *kVeshmServicePrefix = "veshm.ve.";

// Binds and listens on this process's service name (non-blocking, close on
// exec); fd or -errno. A name held by someone else is never an error.
int listen_veshm_service();

struct ServiceName {
    pid_t pid;        // the pid the name claims (unverified)
    std::string name; // abstract name, without the leading NUL
};
// Listening VESHM service names in this network namespace (every user's and
// every impostor's), from /proc/net/unix; only those claiming pid if pid > 0.
std::vector<ServiceName> list_veshm_services(pid_t pid = 0);

// Connects to the VESHM service of VE process owner, which must run as this
// user. Returns a connected, non-blocking socket, or -ESRCH (no process of
// that pid serves VESHM here), -EACCES (it runs as another user), -EBUSY (its
// service accepted no connection before the deadline).
int connect_veshm_service(pid_t owner, std::chrono::steady_clock::time_point deadline);

// now + the configured peer timeout (VESHM_PEER_TIMEOUT).
std::chrono::steady_clock::time_point peer_deadline();

} // namespace veo::emu
