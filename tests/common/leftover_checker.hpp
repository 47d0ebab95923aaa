// What a test may leave behind, recorded before and compared after: child
// processes (VE processes and peers), entries in /dev/shm, VESHM service
// sockets (@veshm.ve.<pid>) and open descriptors of the test process (except
// the VESHM links the core caches, see below).
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace veshm_test {

struct LeftoverSnapshot {
    std::set<pid_t> children;
    std::set<std::string> shm_entries;
    std::set<std::string> veshm_sockets; // without the leading '@'
    std::map<int, std::string> fds;      // descriptor -> what it refers to

    static LeftoverSnapshot take();
};

// The VESHM service sockets that exist now (abstract names, no '@').
std::set<std::string> veshm_sockets_now();
// The pid a service name claims ("veshm.ve.<uid>.<pid>[.<token>]").
pid_t pid_of_service(const std::string &name);

// The core keeps one connection ("link") per owner VE process while the owner
// lives (core/veshm_client.hpp), shared by all attachments to it: a cache by
// design, so the descriptor check lets them pass. These tell them. (A link to
// an owner that ended is closed by the VH's next detach, attach or
// veo_proc_destroy; tests/core/test_lifecycle.cpp checks that.)
bool is_veshm_link(const std::string &fd_description);
// Descriptors of this process connected to the VESHM service of ve_pid.
std::vector<int> veshm_links_to(pid_t ve_pid);

// Describes everything that appeared since before and is still there. VE
// processes end asynchronously after their VH hangs up, so children get up to
// grace to end; ended ones are reaped. Children still running after that are
// killed (and reported), so one leaking test does not spoil the next.
std::vector<std::string> find_leftovers(const LeftoverSnapshot &before,
                                        std::chrono::milliseconds grace);

} // namespace veshm_test
