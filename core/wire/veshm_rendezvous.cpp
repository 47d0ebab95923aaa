#include "wire/veshm_rendezvous.hpp"

#include "sys/config.hpp"
#include "sys/unix_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/random.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace veo::emu {

namespace {

std::string canonical_name(uid_t uid, pid_t pid) {
    return std::string(kVeshmServicePrefix) + std::to_string(uid) + "." + std::to_string(pid);
}

// An unpredictable suffix: a squatter cannot hold every name we may pick.
std::string random_token() {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count() ^
            ((uint64_t)getpid() << 32);
    char text[17];
    snprintf(text, sizeof text, "%016" PRIx64, v);
    return text;
}

// "veshm.ve.<uid>.<pid>[.<token>]" -> the pid it claims, or -1.
pid_t claimed_pid(const std::string &name) {
    size_t prefix = strlen(kVeshmServicePrefix);
    if (name.compare(0, prefix, kVeshmServicePrefix) != 0)
        return -1;
    const char *p = name.c_str() + prefix;
    char *end = nullptr;
    strtoul(p, &end, 10); // the uid: a hint for people, checked by credentials
    if (end == p || *end != '.')
        return -1;
    p = end + 1;
    long pid = strtol(p, &end, 10);
    if (end == p || (*end != '\0' && *end != '.') || pid <= 0 || pid > INT32_MAX)
        return -1;
    return (pid_t)pid;
}

enum class Probe { ok, busy, stranger, impostor, absent };

// One connection attempt that never blocks: a listener whose backlog is full
// (flooded, or an impostor that never accepts) answers EAGAIN at once.
Probe probe(const std::string &name, pid_t owner, int *out) {
    int fd = connect_abstract(name, true);
    if (fd < 0)
        return fd == -EAGAIN ? Probe::busy : Probe::absent;
    // Before a byte is read or written: who is listening?
    pid_t pid = -1;
    uid_t uid = (uid_t)-1;
    Probe verdict = Probe::ok;
    if (peer_credentials(fd, &pid, &uid) < 0 || pid != owner)
        verdict = Probe::impostor;
    else if (uid != getuid())
        verdict = Probe::stranger;
    if (verdict != Probe::ok) {
        close(fd);
        return verdict;
    }
    *out = fd;
    return Probe::ok;
}

} // namespace

int listen_veshm_service() {
    std::string base = canonical_name(getuid(), getpid()), name = base;
    for (int attempt = 0; attempt < 8; ++attempt) {
        int fd = listen_abstract(name);
        if (fd != -EADDRINUSE)
            return fd;
        name = base + "." + random_token();
    }
    return -EADDRINUSE;
}

std::vector<ServiceName> list_veshm_services(pid_t pid) {
    std::vector<ServiceName> out;
    std::ifstream in("/proc/net/unix");
    const std::string prefix = std::string("@") + kVeshmServicePrefix;
    std::string line;
    while (std::getline(in, line)) {
        size_t at = line.rfind(' ');
        if (at == std::string::npos || line.compare(at + 1, prefix.size(), prefix) != 0)
            continue;
        // Listening sockets only (__SO_ACCEPTCON): connected ones repeat the name.
        if (line.find(" 00010000 ") == std::string::npos)
            continue;
        std::string name = line.substr(at + 2);
        pid_t claimed = claimed_pid(name);
        if (claimed > 0 && (pid <= 0 || claimed == pid))
            out.push_back(ServiceName{claimed, std::move(name)});
    }
    std::sort(out.begin(), out.end(), [](const ServiceName &a, const ServiceName &b) {
        return a.pid != b.pid ? a.pid < b.pid : a.name < b.name;
    });
    out.erase(
        std::unique(out.begin(), out.end(),
                    [](const ServiceName &a, const ServiceName &b) { return a.name == b.name; }),
        out.end());
    return out;
}

int connect_veshm_service(pid_t owner, std::chrono::steady_clock::time_point deadline) {
    if (owner <= 0)
        return -ESRCH;
    // The usual name first: no scan of /proc/net/unix unless it is taken.
    const std::string usual = canonical_name(getuid(), owner);
    std::vector<std::string> candidates{usual};
    bool scanned = false, stranger = false;
    for (;;) {
        std::vector<std::string> busy;
        for (const std::string &name : candidates) {
            int fd = -1;
            switch (probe(name, owner, &fd)) {
            case Probe::ok:
                return fd;
            case Probe::busy:
                busy.push_back(name);
                break;
            case Probe::stranger:
                stranger = true;
                break;
            default:
                break;
            }
        }
        if (!scanned) {
            scanned = true;
            candidates = std::move(busy);
            for (ServiceName &s : list_veshm_services(owner))
                if (s.name != usual)
                    candidates.push_back(std::move(s.name));
            continue;
        }
        if (busy.empty())
            return stranger ? -EACCES : -ESRCH;
        if (std::chrono::steady_clock::now() >= deadline)
            return -EBUSY;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        candidates = std::move(busy);
    }
}

std::chrono::steady_clock::time_point peer_deadline() {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(config().peer_timeout_ms);
}

} // namespace veo::emu
