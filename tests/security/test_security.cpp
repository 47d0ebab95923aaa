// Another user can neither attach nor read or change anything of a VE
// process, and learns nothing but EACCES: checked on the wire (what an owner
// sends back to a raw client), in the kernel (what /proc, ptrace-class calls
// and signals allow) and in what the implementation creates (no named object
// outside the abstract socket, read-only descriptors for VE_SHM_RO areas).
// The tests run as root; the other user is nobody, both ways round.
#include "core_test_support.hpp"
#include "leftover_checker.hpp"
#include "no_leftovers_test.hpp"
#include "other_user_install.hpp"
#include "pattern.hpp"
#include "peer_areas.hpp"
#include "peer_process.hpp"
#include "raw_client.hpp"

#include "wire/info_query.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace veshm_test {
namespace {

using namespace veo::emu;
using veshm_security::raw_attach;
using veshm_security::raw_connect;
using veshm_security::raw_info;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr uint64_t kSeed = 606;

PeerOptions as_nobody(const OtherUserInstall &install) {
    PeerOptions o;
    o.uid = kNobody;
    o.gid = kNogroup;
    o.env = install.env();
    return o;
}

// Root's VE process with areas (a PCI one attached by a second VE process of
// root, and a read-only local one), probed by a stranger running as nobody.
class OtherUser : public NoLeftoversTest {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "running a process as nobody needs root";
        ASSERT_NE(nullptr, owner.h);
        ASSERT_NE(nullptr, attacher.h);
        area = alloc_ve(owner, 2 * kPage);
        ASSERT_NE(nullptr, area);
        fill_pattern(host_of(area), 2 * kPage, kSeed, 0);
        ASSERT_EQ(0, open_error(area, kPage, VE_REGISTER_PCI));
        ASSERT_EQ(0, open_error(offset(area, kPage), kPage, VE_REGISTER_NONE | VE_SHM_RO));
        opened = true;
        ASSERT_EQ(0, attach_error(attacher, owner.pid(), area, kPage,
                                  VE_REGISTER_PCI | VE_REGISTER_VEHVA, &vehva));
        install = std::make_unique<OtherUserInstall>(STRANGER_PROGRAM, VEORUN_PATH);
        ASSERT_TRUE(install->ok());
        stranger = std::make_unique<Peer>(install->peer(), as_nobody(*install));
        ASSERT_EQ(std::vector<std::string>{std::to_string(kNobody)}, stranger->ok("uid"));
    }
    void TearDown() override {
        stranger.reset();
        install.reset();
        if (vehva != nullptr) {
            EXPECT_EQ(0, detach_error(attacher, vehva, VE_REGISTER_VEHVA));
        }
        if (opened) {
            EXPECT_EQ(0, close_error(area, kPage, VE_REGISTER_PCI));
            EXPECT_EQ(0, close_error(offset(area, kPage), kPage, VE_REGISTER_NONE | VE_SHM_RO));
        }
    }
    std::string raw(uint64_t vemva, uint64_t size, long long flags, AttachKind kind) {
        return "attach_raw " + std::to_string(owner.pid()) + " " + hex(vemva) + " " + hex(size) +
               " " + hex((uint64_t)flags) + " " + std::to_string((uint32_t)kind);
    }
    uint64_t vemva_of(void *hmem) { return (uint64_t)veo_get_hmem_addr(hmem); }
    // The owner's own count of attachments of the area at vemva.
    int attachments_of(uint64_t vemva) {
        InfoReply r{};
        std::vector<AreaInfo> areas;
        if (query_ve_process(owner.pid(), &r, &areas) != 0)
            return -1;
        for (const AreaInfo &a : areas)
            if (a.vemva == vemva)
                return (int)a.attachments;
        return -1;
    }

    // Not node 0, so that a reply that gives the owner's node away shows it.
    VeProcess owner{3};
    VeProcess attacher{3};
    void *area = nullptr;
    void *vehva = nullptr;
    bool opened = false;
    std::unique_ptr<OtherUserInstall> install;
    std::unique_ptr<Peer> stranger;
};

// What a raw client reports when the owner hung up on it before reading its
// request: the send failed, or the reply was the end of the connection.
bool hung_up_on(const std::vector<std::string> &fields) {
    if (fields.empty())
        return false;
    long rc = (long)number(fields[0]);
    if (rc != -EPIPE && rc != -ECONNRESET && rc != -EBADMSG)
        return false;
    for (size_t i = 1; i < fields.size(); ++i)
        if (fields[i] != "0")
            return false;
    return true;
}

TEST_F(OtherUser, StrangersAreHungUpOnBeforeAByteIsRead) {
    // Exact areas, a range nobody opened and a VEMVA request: the owner closes
    // the connection before reading it, no descriptor and no field comes
    // back, so the stranger cannot even tell which areas exist.
    uint64_t base = vemva_of(area);
    const std::vector<std::string> requests = {
        raw(base, kPage, VE_REGISTER_PCI, AttachKind::vehva),
        raw(base + kPage, kPage, VE_REGISTER_NONE | VE_SHM_RO, AttachKind::vemva),
        raw(base + 8 * kPage, kPage, VE_REGISTER_PCI, AttachKind::vehva),
        raw(base, 48ULL << 30, VE_REGISTER_PCI, AttachKind::vehva)};
    for (const std::string &request : requests) {
        std::vector<std::string> r = stranger->ok(request);
        EXPECT_TRUE(hung_up_on(r)) << request << " -> " << testing::PrintToString(r);
    }
    // veshm-info's question: nothing comes back (rc, error, length, revealed).
    std::vector<std::string> info = stranger->ok("info_raw " + std::to_string(owner.pid()));
    ASSERT_EQ(4u, info.size());
    EXPECT_TRUE(hung_up_on({info[0], info[1], info[3]})) << testing::PrintToString(info);
    EXPECT_EQ(1, attachments_of(base));
}

TEST_F(OtherUser, ForgedDetachesAndGarbageChangeNothing) {
    uint64_t base = vemva_of(area);
    ASSERT_EQ(1, attachments_of(base));
    // Detach notices for every token an attacher could have been given: the
    // connection is gone before the first one is read.
    std::vector<std::string> flood =
        stranger->ok("detach_flood " + std::to_string(owner.pid()) + " 4096");
    EXPECT_TRUE(hung_up_on(flood)) << testing::PrintToString(flood);
    EXPECT_EQ(1, attachments_of(base));
    // Bytes of no protocol: the owner drops the connection and serves on.
    EXPECT_EQ(std::vector<std::string>{"1"},
              stranger->ok("garbage " + std::to_string(owner.pid())));
    EXPECT_EQ(1, attachments_of(base));
    // Root's attachment still moves the owner's data.
    void *local = alloc_ve(attacher, kPage);
    ASSERT_NE(nullptr, local);
    uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
    ASSERT_NE((uint64_t)-1, lv);
    EXPECT_EQ(0, veo_dma_post_wait(attacher, lv, (uint64_t)vehva, 4 << 20));
    EXPECT_EQ(-1, find_mismatch(host_of(local), 4 << 20, kSeed, 0));
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(attacher, lv));
    EXPECT_EQ(0, veo_free_hmem(local));
}

TEST_F(OtherUser, KernelRefusesEveryPathIntoVeAndVhProcesses) {
    const char *probes[] = {"open fd/4",    "readlink fd/4",    "list fd/",
                            "open mem",     "list map_files/",  "process_vm_readv",
                            "kill(pid, 0)", "pidfd_getfd(fd 4)"};
    for (pid_t pid : {owner.pid(), getpid()}) {
        std::vector<std::string> r = stranger->ok("reach " + std::to_string(pid));
        ASSERT_EQ(std::size(probes), r.size());
        for (size_t i = 0; i < r.size(); ++i) {
            int e = (int)number(r[i]);
            EXPECT_TRUE(e == EACCES || e == EPERM)
                << probes[i] << " of pid " << pid << " as nobody: " << (e ? strerror(e) : "WORKED");
        }
    }
}

// What a VE process holds: descriptors of unnamed objects only, and for
// VE_SHM_RO areas a descriptor that cannot write.
TEST_F(OtherUser, VeProcessHoldsNoNamedObjectsAndAReadOnlyView) {
    // Any descriptor of the test process that is not close-on-exec, as a
    // VH application may well have: the VE process must not hold it.
    int pipe_fds[2];
    ASSERT_EQ(0, pipe(pipe_fds));
    VeProcess late(3);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    ASSERT_NE(nullptr, late.h);
    std::string proc = "/proc/" + std::to_string(late.pid());
    int memfds = 0, read_only_memfds = 0;
    std::string inherited;
    DIR *d = opendir((proc + "/fd").c_str());
    ASSERT_NE(nullptr, d);
    while (dirent *de = readdir(d)) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd < 3)
            continue; // 0..2 are whatever the test runner gave us
        char target[256] = {};
        ASSERT_GT(readlink((proc + "/fd/" + de->d_name).c_str(), target, sizeof target - 1), 0);
        std::string t = target;
        bool unnamed = t.rfind("socket:", 0) == 0 || t.rfind("anon_inode:", 0) == 0 ||
                       t.rfind("/memfd:", 0) == 0;
        if (!unnamed)
            inherited += " " + std::to_string(fd) + " -> " + t;
        if (t.rfind("/memfd:ve-memory", 0) == 0) {
            ++memfds;
            std::ifstream info(proc + "/fdinfo/" + de->d_name);
            std::string key, flags;
            while (info >> key && key != "flags:")
                info >> flags;
            info >> flags;
            if ((strtoul(flags.c_str(), nullptr, 8) & O_ACCMODE) == O_RDONLY)
                ++read_only_memfds;
        }
    }
    closedir(d);
    EXPECT_EQ(2, memfds);
    EXPECT_EQ(1, read_only_memfds);
    // Nothing its VH opened without O_CLOEXEC (VeProc::create closes them).
    EXPECT_EQ("", inherited) << "the VE process holds descriptors of its VH";
    // Its service name is abstract: no file to own, chmod or leave behind.
    std::ifstream unix_sockets("/proc/net/unix");
    std::string line;
    int listed = 0;
    while (std::getline(unix_sockets, line)) {
        size_t at = line.find(" @veshm.ve.");
        listed += at != std::string::npos && pid_of_service(line.substr(at + 2)) == owner.pid();
        EXPECT_EQ(std::string::npos, line.find("/veshm")) << line;
    }
    EXPECT_LE(1, listed); // the listening socket, and each connection accepted on it

    // An attacher of the read-only area gets a mapping without write permission.
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner.pid(), offset(area, kPage), kPage,
                              VE_REGISTER_NONE | VE_SHM_RO | VE_REGISTER_VEMVA, &at));
    uintptr_t host = (uintptr_t)host_of(at);
    std::ifstream maps("/proc/self/maps");
    std::string perms;
    while (std::getline(maps, line)) {
        uintptr_t lo = 0, hi = 0;
        char p[5] = {};
        if (sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, p) == 3 && host >= lo && host < hi)
            perms = p;
    }
    EXPECT_EQ("r--s", perms);
    EXPECT_EQ(0, detach_error(attacher, at, VE_REGISTER_VEMVA));
}

// nobody as an owner: its own processes attach its areas, root (another user
// to it) is refused on the API and on the wire.
class NobodyOwner : public NoLeftoversTest {};

TEST_F(NobodyOwner, OwnUserAttachesAnotherUserIsRefused) {
    if (geteuid() != 0)
        GTEST_SKIP() << "running a process as nobody needs root";
    OtherUserInstall install(peer_program(), VEORUN_PATH);
    ASSERT_TRUE(install.ok());
    Peer nobody(install.peer(), as_nobody(install));
    ASSERT_EQ(std::vector<std::string>{std::to_string(kNobody)}, nobody.ok("uid"));
    PeerProc own = peer_create(nobody, 0), other = peer_create(nobody, 2);
    ASSERT_GT(own.ve_pid, 0);
    ASSERT_GT(other.ve_pid, 0);
    PeerArea a = peer_area(nobody, own, kPage, VE_REGISTER_PCI, kSeed);
    ASSERT_NE(nullptr, a.hmem);

    // Its own second VE process attaches and reads the data by DMA.
    std::vector<std::string> r =
        nobody.ok("attach " + other.slot + " " + std::to_string(own.ve_pid) + " " + hex(a.hmem) +
                  " " + hex(kPage) + " " + hex(VE_REGISTER_PCI | VE_REGISTER_VEHVA));
    ASSERT_EQ(1u, r.size());
    std::string at = r[0];
    r = nobody.ok("alloc " + other.slot + " " + hex(kPage) + " " + hex(kPage));
    ASSERT_EQ(1u, r.size());
    std::string local = r[0];
    r = nobody.ok("regdma " + local + " " + hex(kPage));
    ASSERT_EQ(1u, r.size());
    EXPECT_EQ(std::vector<std::string>{"0"},
              nobody.ok("dma " + other.slot + " " + r[0] + " " + at + " " + hex(1 << 20)));
    nobody.ok(check_command((void *)number(local), 0, 1 << 20, kSeed, 0));

    // Root is another user to nobody's VE process.
    VeProcess root_proc(0);
    ASSERT_NE(nullptr, root_proc.h);
    EXPECT_EQ(EACCES, attach_error(root_proc, own.ve_pid, a.hmem, kPage,
                                   VE_REGISTER_PCI | VE_REGISTER_VEHVA));
    EXPECT_EQ(EACCES, attach_error(root_proc, own.ve_pid, a.hmem, kPage,
                                   VE_REGISTER_PCI | VE_REGISTER_VEMVA));
    // On the wire: hung up on before a byte of the request is read.
    int sock = raw_connect(own.ve_pid);
    ASSERT_GE(sock, 0);
    auto info = raw_info(sock);
    EXPECT_NE(0, info.rc);
    EXPECT_EQ(0, info.reply.error);
    EXPECT_EQ(0u, info.reply.area_count);
    close(sock);
    sock = raw_connect(own.ve_pid);
    ASSERT_GE(sock, 0);
    AttachRequest req{kAttachRequestMagic,
                      (uint32_t)AttachKind::vehva,
                      (uint64_t)veo_get_hmem_addr(a.hmem),
                      kPage,
                      VE_REGISTER_PCI,
                      0,
                      0,
                      1,
                      0};
    auto granted = raw_attach(sock, req);
    EXPECT_NE(0, granted.rc);
    EXPECT_EQ(0, granted.reply.error);
    EXPECT_EQ(0, granted.descriptors);
    close(sock);

    nobody.ok("detach " + other.slot + " " + at + " " + hex(VE_REGISTER_VEHVA));
    nobody.ok("close " + hex(a.hmem) + " " + hex(kPage) + " " + hex(VE_REGISTER_PCI));
}

} // namespace
} // namespace veshm_test
