#include "leftover_checker.hpp"

#include "proc_table.hpp"

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace veshm_test {

namespace {

constexpr const char kServicePrefix[] = "@veshm.ve.";

// Other suites may run in parallel (ctest -j): their shared memory files are
// not ours to judge. These are the names UCX and Open MPI use.
bool foreign_shm(const std::string &name) {
    static const char *const prefixes[] = {"ucx_",     "vader_segment", "sm_segment",
                                           "open_mpi", "sem.ucx",       "osc_"};
    for (const char *p : prefixes)
        if (name.rfind(p, 0) == 0)
            return true;
    return false;
}

std::set<std::string> list_dir(const char *path) {
    std::set<std::string> out;
    if (DIR *d = opendir(path)) {
        while (dirent *de = readdir(d)) {
            std::string n = de->d_name;
            if (n != "." && n != "..")
                out.insert(n);
        }
        closedir(d);
    }
    return out;
}

// For a connected Unix socket, the name of the other end ("@..." when
// abstract), else "".
std::string peer_name(int fd) {
    sockaddr_un addr{};
    socklen_t len = sizeof addr;
    if (getpeername(fd, (sockaddr *)&addr, &len) < 0 || addr.sun_family != AF_UNIX ||
        len <= offsetof(sockaddr_un, sun_path))
        return "";
    size_t n = len - offsetof(sockaddr_un, sun_path);
    if (addr.sun_path[0] == '\0')
        return "@" + std::string(addr.sun_path + 1, n - 1);
    return std::string(addr.sun_path, strnlen(addr.sun_path, n));
}

std::map<int, std::string> open_fds() {
    std::map<int, std::string> out;
    DIR *d = opendir("/proc/self/fd");
    if (d == nullptr)
        return out;
    int own = dirfd(d);
    while (dirent *de = readdir(d)) {
        char *end = nullptr;
        long fd = strtol(de->d_name, &end, 10);
        if (*end != '\0' || de->d_name[0] == '\0' || fd == own)
            continue;
        char target[512];
        std::string link = std::string("/proc/self/fd/") + de->d_name;
        ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
        std::string what = n > 0 ? std::string(target, (size_t)n) : "?";
        std::string peer = peer_name((int)fd);
        out[(int)fd] = peer.empty() ? what : what + " to " + peer;
    }
    closedir(d);
    return out;
}

} // namespace

pid_t pid_of_service(const std::string &name) {
    // name is "veshm.ve.<uid>.<pid>" or "veshm.ve.<uid>.<pid>.<token>"
    const char *p = name.c_str() + sizeof kServicePrefix - 2;
    const char *dot = strchr(p, '.');
    return dot != nullptr ? (pid_t)atol(dot + 1) : -1;
}

bool is_veshm_link(const std::string &fd_description) {
    return fd_description.find(std::string(" to ") + kServicePrefix) != std::string::npos;
}

std::vector<int> veshm_links_to(pid_t ve_pid) {
    std::vector<int> out;
    const std::string to = std::string(" to ") + kServicePrefix;
    for (const auto &[fd, what] : open_fds()) {
        size_t at = what.find(to);
        if (at != std::string::npos && pid_of_service(what.substr(at + strlen(" to @"))) == ve_pid)
            out.push_back(fd);
    }
    return out;
}

std::set<std::string> veshm_sockets_now() {
    std::set<std::string> out;
    std::ifstream in("/proc/net/unix");
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        size_t at = line.find(kServicePrefix);
        if (at == std::string::npos)
            continue;
        std::string name = line.substr(at + 1);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\n'))
            name.pop_back();
        out.insert(name);
    }
    return out;
}

LeftoverSnapshot LeftoverSnapshot::take() {
    LeftoverSnapshot s;
    for (const ProcEntry &e : children_of(getpid()))
        s.children.insert(e.pid);
    s.shm_entries = list_dir("/dev/shm");
    s.veshm_sockets = veshm_sockets_now();
    s.fds = open_fds();
    return s;
}

std::vector<std::string> find_leftovers(const LeftoverSnapshot &before,
                                        std::chrono::milliseconds grace) {
    std::vector<std::string> out;
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (const ProcEntry &e : children_of(getpid())) {
        if (before.children.count(e.pid))
            continue;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        bool ended = e.state == 'Z' || wait_for_end(e.pid, std::max(left, decltype(left){0}));
        if (!ended) {
            out.push_back("child process " + std::to_string(e.pid) + " (" + e.name +
                          ") still running");
            kill(e.pid, SIGKILL);
        }
        // A VE process whose VH (a killed peer) is gone was handed to us; reap it.
        waitpid(e.pid, nullptr, 0);
    }
    for (const std::string &n : list_dir("/dev/shm"))
        if (!before.shm_entries.count(n) && !foreign_shm(n))
            out.push_back("/dev/shm/" + n + " appeared");
    // A socket outlives its process for a moment while the kernel releases it,
    // and tests running in parallel end VE processes all the time: a socket
    // counts as left behind only if it is still there after the grace time.
    auto stray_sockets = [&] {
        std::vector<std::string> stray;
        for (const std::string &n : veshm_sockets_now()) {
            if (before.veshm_sockets.count(n))
                continue;
            // Sockets of live processes of other users of this machine are theirs.
            pid_t owner = pid_of_service(n);
            ProcEntry e;
            bool ours = read_proc_entry(owner, &e) && e.ppid == getpid();
            if (!is_running(owner) || ours)
                stray.push_back("socket @" + n + " still bound");
        }
        return stray;
    };
    auto socket_deadline =
        std::max(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    std::vector<std::string> stray;
    while (!(stray = stray_sockets()).empty() && std::chrono::steady_clock::now() < socket_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    out.insert(out.end(), stray.begin(), stray.end());
    std::map<int, std::string> fds = open_fds();
    for (const auto &[fd, target] : fds) {
        auto it = before.fds.find(fd);
        if (is_veshm_link(target))
            continue;
        if (it == before.fds.end() || it->second != target)
            out.push_back("descriptor " + std::to_string(fd) + " -> " + target + " left open");
    }
    return out;
}

} // namespace veshm_test
