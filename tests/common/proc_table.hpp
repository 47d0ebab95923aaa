// What the process table says about a process, and waiting for a process to
// end without polling: the tests check that VE processes really go away.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace veshm_test {

struct ProcEntry {
    pid_t pid = -1;
    pid_t ppid = -1;
    char state = '?'; // as in /proc/<pid>/stat: R, S, Z, ...
    std::string name; // comm
};

// The entry of pid, or false if there is no such process (not even a zombie).
bool read_proc_entry(pid_t pid, ProcEntry *out);
// Every process whose parent is ppid.
std::vector<ProcEntry> children_of(pid_t ppid);
// True while pid exists and is not a zombie.
bool is_running(pid_t pid);

// The line of /proc/<pid>/maps of the mapping that starts at addr, or "".
std::string mapping_at(pid_t pid, uint64_t addr);

// Waits until pid has ended (exited or zombie), up to timeout; true if it
// did. Works for processes that are not our children. pid must be alive or
// just ended when called, otherwise the pid may name another process.
bool wait_for_end(pid_t pid, std::chrono::milliseconds timeout);
// pidfd of pid (to wait for its end later, immune to pid reuse), or -1.
int open_pidfd(pid_t pid);
// Waits on a pidfd from open_pidfd(); true if the process ended in time.
bool wait_pidfd(int pidfd, std::chrono::milliseconds timeout);

// Makes orphaned descendants (VE processes of a killed peer) our children,
// so the tests can see and reap them whatever pid 1 does.
void become_subreaper();

} // namespace veshm_test
