// Running the peer as another user (nobody) needs the peer, libveo and the VE
// process helper to be reachable by that user. A build tree under a private
// directory is not: then they are copied to a world-readable temporary
// directory for the duration of the test.
#pragma once

#include <string>
#include <vector>

namespace veshm_test {

// True if every directory on the way to path lets others through and others
// may read and execute the file itself.
bool reachable_by_others(const std::string &path);

class OtherUserInstall {
  public:
    // peer and veorun: paths of the two programs; libveo is found from the
    // library this process uses. always_copy: copy even if reachable (so the
    // copying path is exercised where the build tree is public).
    OtherUserInstall(const std::string &peer, const std::string &veorun, bool always_copy = false);
    ~OtherUserInstall(); // removes the copy, if one was made
    OtherUserInstall(const OtherUserInstall &) = delete;
    OtherUserInstall &operator=(const OtherUserInstall &) = delete;

    bool ok() const { return ok_; }
    const std::string &peer() const { return peer_; }
    // NAME=VALUE entries the peer needs to find libveo and veorun.
    const std::vector<std::string> &env() const { return env_; }
    bool copied() const { return !dir_.empty(); }

  private:
    bool ok_ = false;
    std::string dir_;
    std::string peer_;
    std::vector<std::string> env_;
    std::vector<std::string> copies_;
};

} // namespace veshm_test
