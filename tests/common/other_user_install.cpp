#include "other_user_install.hpp"

#include <ve_offload.h>

#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace veshm_test {

namespace fs = std::filesystem;

bool reachable_by_others(const std::string &path) {
    std::error_code ec;
    fs::path p = fs::canonical(path, ec);
    if (ec)
        return false;
    struct stat st {};
    if (stat(p.c_str(), &st) != 0 || (st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH))
        return false;
    for (fs::path d = p.parent_path(); !d.empty(); d = d.parent_path()) {
        if (stat(d.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH))
            return false;
        if (d == d.root_path())
            break;
    }
    return true;
}

namespace {
std::string libveo_path() {
    Dl_info info{};
    if (dladdr((void *)&veo_proc_create, &info) == 0 || info.dli_fname == nullptr)
        return "";
    return info.dli_fname;
}
} // namespace

OtherUserInstall::OtherUserInstall(const std::string &peer, const std::string &veorun,
                                   bool always_copy) {
    std::string lib = libveo_path();
    if (lib.empty())
        return;
    if (!always_copy && reachable_by_others(peer) && reachable_by_others(veorun) &&
        reachable_by_others(lib)) {
        peer_ = peer;
        ok_ = true;
        return;
    }
    char tmpl[] = "/tmp/veshm-peer-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
        return;
    dir_ = tmpl;
    std::error_code ec;
    fs::permissions(dir_, fs::perms(0755), ec);
    const std::string files[][2] = {{peer, "veshm_peer"},
                                    {veorun, "veorun"},
                                    {fs::canonical(lib, ec).string(), fs::path(lib).filename()}};
    for (const auto &f : files) {
        std::string to = dir_ + "/" + f[1];
        if (!fs::copy_file(f[0], to, fs::copy_options::overwrite_existing, ec))
            return;
        fs::permissions(to, fs::perms(0755), ec);
        copies_.push_back(to);
    }
    peer_ = dir_ + "/veshm_peer";
    env_ = {"LD_LIBRARY_PATH=" + dir_, "VEORUN_BIN=" + dir_ + "/veorun"};
    ok_ = true;
}

OtherUserInstall::~OtherUserInstall() {
    for (const std::string &c : copies_)
        unlink(c.c_str());
    if (!dir_.empty())
        rmdir(dir_.c_str());
}

} // namespace veshm_test
