#include "actor_process.hpp"

#include "proc_table.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace veshm_faults {

ActorProcess::ActorProcess(const std::string &program, const std::vector<std::string> &args) {
    int down[2] = {-1, -1}, up[2] = {-1, -1};
    int page = memfd_create("fault-op", MFD_CLOEXEC);
    if (page < 0 || ftruncate(page, 4096) < 0 || pipe2(down, O_CLOEXEC) < 0 ||
        pipe2(up, O_CLOEXEC) < 0) {
        for (int fd : {page, down[0], down[1], up[0], up[1]})
            if (fd >= 0)
                close(fd);
        return;
    }
    void *p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, page, 0);
    if (p != MAP_FAILED)
        op_ = static_cast<volatile uint32_t *>(p);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, down[0], 0);
    posix_spawn_file_actions_adddup2(&fa, up[1], 1);
    posix_spawn_file_actions_adddup2(&fa, page, 3);
    std::vector<char *> argv{const_cast<char *>(program.c_str())};
    for (const std::string &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), environ) != 0)
        pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(page);
    close(down[0]);
    close(up[1]);
    to_ = down[1];
    from_ = up[0];
}

ActorProcess::~ActorProcess() {
    if (to_ >= 0)
        close(to_);
    if (from_ >= 0)
        close(from_);
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (op_ != nullptr)
        munmap((void *)op_, 4096);
}

uint32_t ActorProcess::current_op() const {
    return op_ ? *op_ : 0;
}

bool ActorProcess::send(const std::string &line) {
    std::string l = line + "\n";
    return to_ >= 0 && write(to_, l.data(), l.size()) == (ssize_t)l.size();
}

bool ActorProcess::read_line(std::string *line, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        size_t nl = pending_.find('\n');
        if (nl != std::string::npos) {
            *line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return true;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (from_ < 0 || left.count() <= 0)
            return false;
        pollfd p{from_, POLLIN, 0};
        int rc = poll(&p, 1, (int)left.count());
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return false;
        char buf[512];
        ssize_t n = read(from_, buf, sizeof buf);
        if (n <= 0)
            return false;
        pending_.append(buf, (size_t)n);
    }
}

int ActorProcess::wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0)
        return -1;
    if (!veshm_test::wait_for_end(pid_, timeout))
        return -1;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_)
        return -1;
    pid_ = -1;
    return status;
}

} // namespace veshm_faults
