#include "proc_table.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace veshm_test {

bool read_proc_entry(pid_t pid, ProcEntry *out) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!in || !std::getline(in, line))
        return false;
    // comm may hold spaces and parentheses: it ends at the last ')'.
    size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return false;
    ProcEntry e;
    e.pid = pid;
    e.name = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 1));
    rest >> e.state >> e.ppid;
    if (!rest)
        return false;
    *out = e;
    return true;
}

std::vector<ProcEntry> children_of(pid_t ppid) {
    std::vector<ProcEntry> out;
    DIR *d = opendir("/proc");
    if (d == nullptr)
        return out;
    while (dirent *de = readdir(d)) {
        char *end = nullptr;
        long pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        ProcEntry e;
        if (read_proc_entry((pid_t)pid, &e) && e.ppid == ppid)
            out.push_back(e);
    }
    closedir(d);
    return out;
}

bool is_running(pid_t pid) {
    ProcEntry e;
    return read_proc_entry(pid, &e) && e.state != 'Z' && e.state != 'X';
}

std::string mapping_at(pid_t pid, uint64_t addr) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    char start[32];
    snprintf(start, sizeof start, "%llx-", (unsigned long long)addr);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(start, 0) == 0)
            return line;
    return "";
}

int open_pidfd(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

bool wait_pidfd(int pidfd, std::chrono::milliseconds timeout) {
    pollfd p{pidfd, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        int rc = poll(&p, 1, left.count() > 0 ? (int)left.count() : 0);
        if (rc > 0)
            return true;
        if (rc == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

bool wait_for_end(pid_t pid, std::chrono::milliseconds timeout) {
    int fd = open_pidfd(pid);
    if (fd < 0)
        return errno == ESRCH; // already gone entirely
    bool ended = wait_pidfd(fd, timeout);
    close(fd);
    return ended;
}

void become_subreaper() {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
}

} // namespace veshm_test
