#include "run_program.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

namespace veshm_test {

int run_program(const std::vector<std::string> &argv, std::string *output, const RunAs *as,
                const std::vector<std::string> &env) {
    int out[2];
    if (argv.empty() || pipe2(out, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(out[1], 1) < 0)
            _exit(126);
        if (as != nullptr &&
            (setgroups(0, nullptr) < 0 || setgid(as->gid) < 0 || setuid(as->uid) < 0))
            _exit(126);
        for (const std::string &e : env)
            putenv(strdup(e.c_str()));
        std::vector<char *> args;
        for (const std::string &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    close(out[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
        if (n > 0)
            text.append(buf, (size_t)n);
        else if (errno != EINTR)
            break;
    }
    close(out[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    if (output != nullptr)
        *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace veshm_test
