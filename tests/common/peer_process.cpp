#include "peer_process.hpp"

#include "proc_table.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace veshm_test {

namespace {

constexpr int kReplyTimeoutMs = 60000;

std::vector<std::string> environment_with(const std::vector<std::string> &extra) {
    std::vector<std::string> env;
    for (char **e = environ; *e != nullptr; ++e) {
        std::string entry = *e;
        std::string name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const std::string &x : extra)
            replaced |= x.substr(0, x.find('=')) == name;
        if (!replaced)
            env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

std::vector<std::string> words(const std::string &line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

} // namespace

Peer::Peer(const std::string &program, const PeerOptions &options) {
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) < 0)
        return;
    if (pipe2(up, O_CLOEXEC) < 0) {
        close(down[0]);
        close(down[1]);
        return;
    }
    std::vector<std::string> env = environment_with(options.env);
    std::vector<char *> envp;
    for (std::string &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string prog = program;
    char *argv[] = {prog.data(), nullptr};

    if (options.uid == (uid_t)-1) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, down[0], 0);
        posix_spawn_file_actions_adddup2(&fa, up[1], 1);
        if (posix_spawn(&pid_, prog.c_str(), &fa, nullptr, argv, envp.data()) != 0)
            pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    } else {
        // Another user: the privileges go before the exec, so the peer never
        // runs a line of code as us. Only async-signal-safe calls here.
        pid_ = fork();
        if (pid_ == 0) {
            if (dup2(down[0], 0) < 0 || dup2(up[1], 1) < 0 || setgroups(0, nullptr) < 0 ||
                setgid(options.gid) < 0 || setuid(options.uid) < 0)
                _exit(126);
            execve(prog.c_str(), argv, envp.data());
            _exit(127);
        }
    }
    close(down[0]);
    close(up[1]);
    if (pid_ < 0) {
        close(down[1]);
        close(up[0]);
        ADD_FAILURE() << "cannot start " << program;
        return;
    }
    to_ = down[1];
    from_ = up[0];
}

Peer::~Peer() {
    if (to_ >= 0) {
        // Closing its input is the peer's cue to tidy up and exit.
        close(to_);
        to_ = -1;
    }
    if (from_ >= 0) {
        close(from_);
        from_ = -1;
    }
    if (pid_ > 0) {
        const pid_t pid = pid_;
        bool forced = false;
        if (!wait_for_end(pid_, std::chrono::seconds(20))) {
            ADD_FAILURE() << "peer " << pid_ << " did not exit";
            ::kill(pid_, SIGKILL);
            forced = true;
        }
        int status = wait();
        // A peer the test did not kill must exit 0: anything else is a crash
        // or a sanitizer report in it (LeakSanitizer exits 23), and fails the
        // test that ran it.
        if (!killed_ && !forced && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            if (WIFEXITED(status))
                ADD_FAILURE() << "peer " << pid << " exited with status " << WEXITSTATUS(status);
            else
                ADD_FAILURE() << "peer " << pid << " ended with signal " << WTERMSIG(status);
        }
    }
}

std::vector<std::string> Peer::call(const std::string &command) {
    if (to_ < 0 || from_ < 0)
        return {};
    std::string line = command + "\n";
    for (size_t done = 0; done < line.size();) {
        ssize_t n = write(to_, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return {};
        done += (size_t)n;
    }
    for (;;) {
        size_t nl = pending_.find('\n');
        if (nl != std::string::npos) {
            std::string reply = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return words(reply);
        }
        pollfd p{from_, POLLIN, 0};
        int rc = poll(&p, 1, kReplyTimeoutMs);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            ADD_FAILURE() << "peer " << pid_ << " did not answer '" << command << "'";
            return {};
        }
        char buf[4096];
        ssize_t n = read(from_, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return {};
        pending_.append(buf, (size_t)n);
    }
}

std::vector<std::string> Peer::ok(const std::string &command) {
    std::vector<std::string> r = call(command);
    if (r.empty() || r[0] != "ok") {
        std::string got;
        for (const std::string &w : r)
            got += w + " ";
        ADD_FAILURE() << "peer command '" << command << "' answered '" << got << "'";
        return {};
    }
    r.erase(r.begin());
    return r;
}

int Peer::err(const std::string &command) {
    std::vector<std::string> r = call(command);
    if (r.size() < 2 || r[0] != "err") {
        std::string got;
        for (const std::string &w : r)
            got += w + " ";
        ADD_FAILURE() << "peer command '" << command << "' should fail, answered '" << got << "'";
        return -1;
    }
    return (int)number(r[1]);
}

void Peer::kill(int signal) {
    if (pid_ > 0) {
        ::kill(pid_, signal);
        killed_ = true;
    }
}

int Peer::wait() {
    if (pid_ <= 0)
        return -1;
    int status = -1;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
}

std::string hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return buf;
}

std::string hex(const void *p) {
    return hex((uint64_t)p);
}

uint64_t number(const std::string &word) {
    return strtoull(word.c_str(), nullptr, 0);
}

} // namespace veshm_test
