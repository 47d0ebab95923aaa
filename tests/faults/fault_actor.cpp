#include "fault_actor.hpp"

#include <ve_offload.h>
#include <veo_vedma.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <poll.h>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

namespace fault_actor {

Actor::Actor(int op_fd) {
    if (op_fd >= 0) {
        void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, op_fd, 0);
        if (p != MAP_FAILED)
            op_ = static_cast<std::atomic<uint32_t> *>(p);
        close(op_fd);
    }
}

bool Actor::bad(const std::string &what) {
    ++failures;
    if (failures <= 5)
        say("bad " + what);
    return false;
}

bool Actor::outcome(const char *what, int err, std::initializer_list<int> allowed) {
    ++ops;
    if (err == 0)
        return true;
    for (int e : allowed)
        if (e == err) {
            ++documented_errors;
            return false;
        }
    bad(std::string(what) + " gave " + (strerrorname_np(err) ? strerrorname_np(err) : "?"));
    return false;
}

bool Actor::stop_requested() {
    for (;;) {
        if (eof_ || !stop_line_.empty())
            return true;
        // A line may already be buffered: read_line() took it together with
        // an earlier one ("go" and "stop" arrive at once when this process
        // was slow to start), and the pipe is empty then.
        if (pending_.find('\n') == std::string::npos) {
            pollfd p{0, POLLIN, 0};
            if (::poll(&p, 1, 0) != 1)
                return false;
        }
        std::string line = read_line();
        if (line.rfind("stop", 0) == 0)
            stop_line_ = line;
    }
}

std::string Actor::last_line_words(size_t i) const {
    std::istringstream in(stop_line_);
    std::string w;
    for (size_t k = 0; k <= i; ++k)
        if (!(in >> w))
            return "";
    return w;
}

std::string Actor::read_line() {
    for (;;) {
        size_t nl = pending_.find('\n');
        if (nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        char buf[256];
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            eof_ = true;
            return "";
        }
        pending_.append(buf, (size_t)n);
    }
}

void Actor::say(const std::string &line) {
    std::string l = line + "\n";
    if (write(1, l.data(), l.size()) < 0) {
        // The test is gone: nobody to report to.
    }
}

int Actor::finish(veo_proc_handle *h, uint64_t lv, const std::string &fds_before) {
    mark(Op::destroy);
    veo_unregister_mem_from_dmaatb(h, lv);
    veo_proc_destroy(h);
    mark(Op::idle);
    std::string fds_after = fd_list();
    if (fds_after != fds_before)
        bad("descriptors before:" + fds_before + " after:" + fds_after);
    say("done " + std::to_string(ops) + " " + std::to_string(documented_errors) + " " +
        std::to_string(failures));
    return failures ? 1 : 0;
}

std::string Actor::fd_list() {
    std::string out;
    DIR *d = opendir("/proc/self/fd");
    if (d == nullptr)
        return "?";
    while (dirent *de = readdir(d)) {
        if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
            continue;
        char target[256] = {};
        std::string link = std::string("/proc/self/fd/") + de->d_name;
        if (readlink(link.c_str(), target, sizeof target - 1) < 0)
            continue;
        out += std::string(" ") + de->d_name + "=" + target;
    }
    closedir(d);
    return out;
}

} // namespace fault_actor

int main(int argc, char **argv) {
    using namespace fault_actor;
    if (argc != 5) {
        fprintf(stderr, "usage: fault_actor owner|attacher <node> <seed> <op-fd>\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    Actor a(atoi(argv[4]));
    std::string role = argv[1];
    int node = atoi(argv[2]);
    uint64_t seed = strtoull(argv[3], nullptr, 0);
    int rc = role == "owner" ? run_owner(a, node, seed) : run_attacher(a, node, seed);
    a.mark(Op::idle);
    return rc;
}
