// The other user's side of the security tests: a program the tests start as
// nobody and drive line by line (tests/common/peer_process.hpp). It probes a
// VE process of another user in every way a local process can: the VESHM
// wire protocol directly, and the kernel's interfaces to another process.
// Each command answers one line, "ok" and numbers; 0 in an errno position
// means the probe succeeded (which the tests treat as a breach).
#include "hostile_services.hpp"
#include "raw_client.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

using namespace veo::emu;
using namespace veshm_security;

namespace {

uint64_t num(const std::string &w) {
    return strtoull(w.c_str(), nullptr, 0);
}

// errno of a probe that returns -1 on failure; 0 if the probe worked.
int probe(long rc) {
    return rc < 0 ? errno : 0;
}

std::string attach_raw(pid_t pid, uint64_t vemva, uint64_t size, int64_t flags, uint32_t kind) {
    int sock = raw_connect(pid);
    if (sock < 0)
        return "err " + std::to_string(-sock);
    AttachRequest req{kAttachRequestMagic, kind, vemva, size, flags, 0, 0, 1, 0};
    RawAttachResult r = raw_attach(sock, req);
    close(sock);
    std::ostringstream out;
    out << "ok " << r.rc << " " << r.reply.error << " " << r.descriptors << " "
        << r.reply.owner_node << " " << r.reply.read_only << " " << r.reply.fd_offset;
    return out.str();
}

std::string info_raw(pid_t pid) {
    int sock = raw_connect(pid);
    if (sock < 0)
        return "err " + std::to_string(-sock);
    RawInfoResult r = raw_info(sock);
    close(sock);
    // Everything after magic and error must be zero: the error is all it learns.
    InfoReply blank{};
    blank.magic = r.reply.magic;
    blank.error = r.reply.error;
    bool revealed = memcmp(&blank, &r.reply, sizeof blank) != 0;
    std::ostringstream out;
    out << "ok " << r.rc << " " << r.reply.error << " " << r.length << " " << (revealed ? 1 : 0);
    return out.str();
}

std::string detach_flood(pid_t pid, uint32_t count) {
    int sock = raw_connect(pid);
    if (sock < 0)
        return "err " + std::to_string(-sock);
    for (uint32_t t = 0; t < count; ++t) {
        DetachNotice n{kDetachNoticeMagic, t};
        if (raw_send(sock, &n, sizeof n) < 0)
            break;
    }
    // A final info request proves the service read every notice before it.
    RawInfoResult r = raw_info(sock);
    close(sock);
    return "ok " + std::to_string(r.rc) + " " + std::to_string(r.reply.error);
}

std::string garbage(pid_t pid) {
    int sock = raw_connect(pid);
    if (sock < 0)
        return "err " + std::to_string(-sock);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; ++i)
        junk[i] = (uint8_t)(i * 37 + 11);
    raw_send(sock, junk, sizeof junk);
    bool closed = raw_closed_by_peer(sock, 5000);
    close(sock);
    return std::string("ok ") + (closed ? "1" : "0");
}

// Every kernel path into another process's memory or descriptors.
std::string reach(pid_t pid) {
    std::string proc = "/proc/" + std::to_string(pid);
    std::vector<int> e;
    // Its VE memory (fd 4 of a VE process, the memfd) and the other descriptors.
    e.push_back(probe(open((proc + "/fd/4").c_str(), O_RDONLY | O_CLOEXEC)));
    char link[256];
    e.push_back(probe(readlink((proc + "/fd/4").c_str(), link, sizeof link)));
    DIR *fds = opendir((proc + "/fd").c_str());
    e.push_back(fds ? 0 : errno);
    if (fds)
        closedir(fds);
    e.push_back(probe(open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC)));
    DIR *mf = opendir((proc + "/map_files").c_str());
    e.push_back(mf ? 0 : errno);
    if (mf)
        closedir(mf);
    char byte;
    iovec local{&byte, 1}, remote{(void *)0x600000000000ULL, 1};
    e.push_back(probe(syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0)));
    e.push_back(probe(kill(pid, 0)));
    long pidfd = syscall(SYS_pidfd_open, pid, 0);
    e.push_back(pidfd < 0 ? errno : probe(syscall(SYS_pidfd_getfd, (int)pidfd, 4, 0)));
    if (pidfd >= 0)
        close((int)pidfd);
    std::string out = "ok";
    for (int v : e)
        out += " " + std::to_string(v);
    return out;
}

std::string run(const std::vector<std::string> &w) {
    const std::string &cmd = w[0];
    if (cmd == "uid")
        return "ok " + std::to_string(getuid());
    if (cmd == "attach_raw" && w.size() == 6)
        return attach_raw((pid_t)num(w[1]), num(w[2]), num(w[3]), (int64_t)num(w[4]),
                          (uint32_t)num(w[5]));
    if (cmd == "info_raw" && w.size() == 2)
        return info_raw((pid_t)num(w[1]));
    if (cmd == "detach_flood" && w.size() == 3)
        return detach_flood((pid_t)num(w[1]), (uint32_t)num(w[2]));
    if (cmd == "garbage" && w.size() == 2)
        return garbage((pid_t)num(w[1]));
    if (cmd == "reach" && w.size() == 2)
        return reach((pid_t)num(w[1]));
    if (cmd == "pid")
        return "ok " + std::to_string(getpid());
    if (cmd == "squat" && w.size() == 5)
        return "ok " +
               std::to_string(squat_names((uid_t)num(w[1]), (pid_t)num(w[2]), (int)num(w[3]),
                                          w[4] == "silent" ? FakeMode::silent : FakeMode::approve));
    if (cmd == "flood" && w.size() == 3)
        return "ok " + std::to_string(flood_connections((pid_t)num(w[1]), (int)num(w[2])));
    if (cmd == "release") {
        release_all();
        return "ok";
    }
    return "err " + std::to_string(EINVAL) + " unknown command";
}

} // namespace

int main() {
    signal(SIGPIPE, SIG_IGN);
    // Squatting and flooding hold thousands of descriptors.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::vector<std::string> w;
        for (std::string s; in >> s;)
            w.push_back(s);
        if (w.empty())
            continue;
        std::cout << run(w) << std::endl;
    }
    return 0;
}
