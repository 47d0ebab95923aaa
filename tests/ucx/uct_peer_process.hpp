// The peer process of the UCT-level tests (uct_peer at UCT_PEER_PATH),
// started with a socket to it, asked to do things and to exit.
#ifndef VESHM_TEST_UCT_PEER_PROCESS_HPP
#define VESHM_TEST_UCT_PEER_PROCESS_HPP

#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "uct_common.h"

extern char **environ;

struct Peer {
    pid_t pid = -1;
    int fd = -1;

    void start() {
        int sv[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
        std::string fdarg = "3";
        char *argv[] = {const_cast<char *>(UCT_PEER_PATH), fdarg.data(), nullptr};
        ASSERT_EQ(posix_spawn(&pid, UCT_PEER_PATH, &fa, nullptr, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(sv[1]);
        fd = sv[0];
    }
    peer_reply_t call(uint32_t cmd, uint32_t kind = 0, uint64_t a = 0, uint64_t b = 0,
                      uint64_t c = 0) {
        peer_request_t req{cmd, kind, a, b, c};
        peer_reply_t rep;
        memset(&rep, 0, sizeof(rep));
        rep.status = -1000;
        if (uct_test_send(fd, &req, sizeof(req)) != 0 || uct_test_recv(fd, &rep, sizeof(rep)) != 0)
            rep.status = -1001;
        return rep;
    }
    void kill_now() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    // Asks the peer to exit and reaps it: unless the test killed it, it must
    // answer and exit 0 (a crash or a sanitizer report in it, e.g.
    // LeakSanitizer's status 23, fails the test).
    ~Peer() {
        if (pid > 0) {
            peer_reply_t r = call(PEER_EXIT);
            EXPECT_EQ(r.status, UCS_OK) << "uct_peer did not answer its exit request";
            int st = 0;
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
            EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
                << "uct_peer " << pid << " ended with wait status 0x" << std::hex << st;
        }
        if (fd >= 0)
            close(fd);
    }
};

#endif
