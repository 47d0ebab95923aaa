// A peer: another VH process (the veshm_peer program) that the tests drive
// line by line over pipes, so owner and attacher are unrelated processes with
// VE processes of their own. Each command gets exactly one reply line,
// "ok ..." or "err <errno> ..."; the pipes are the only synchronisation.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace veshm_test {

struct PeerOptions {
    // Run as this user and group (fork, drop privileges, exec); -1: as we are.
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    // NAME=VALUE entries added to (or replacing in) our environment.
    std::vector<std::string> env;
};

class Peer {
  public:
    explicit Peer(const std::string &program, const PeerOptions &options = {});
    // Asks the peer to exit; kills it if it does not end in time. A failure
    // of the test unless it exits 0 (or the test killed it).
    ~Peer();
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;

    pid_t pid() const { return pid_; }

    // Sends one command; the words of the reply, empty if the peer ended or
    // did not answer in time.
    std::vector<std::string> call(const std::string &command);
    // A command that must succeed: the words after "ok" (a failure is
    // recorded otherwise and an empty vector returned).
    std::vector<std::string> ok(const std::string &command);
    // A command that must fail: its errno (-1 and a recorded failure if it
    // did not fail).
    int err(const std::string &command);

    void kill(int signal);
    // Reaps the peer: its wait status (-1 if it was reaped already), for the
    // caller to check.
    int wait();

  private:
    pid_t pid_ = -1;
    int to_ = -1;
    int from_ = -1;
    std::string pending_;
    bool killed_ = false;
};

// "0x..." for commands.
std::string hex(uint64_t v);
std::string hex(const void *p);
// A number of a reply (decimal or 0x hex).
uint64_t number(const std::string &word);

} // namespace veshm_test
