// Killing processes: the owner's VH or VE process while attached, a VH with
// VE processes and attachments, an attacher. Survivors keep what they have,
// the dead leave nothing behind (process table, sockets, /dev/shm).
#include "core_test_support.hpp"
#include "leftover_checker.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"
#include "peer_areas.hpp"
#include "proc_table.hpp"

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace veshm_test {
namespace {

constexpr long long PCI = VE_REGISTER_PCI;
constexpr uint64_t kOwnerSeed = 51, kWriteSeed = 52, kLocalSeed = 53;
constexpr auto kDeathTimeout = std::chrono::seconds(10);

bool socket_bound(pid_t ve_pid) {
    for (const std::string &name : veshm_sockets_now())
        if (pid_of_service(name) == ve_pid)
            return true;
    return false;
}

// A VE process of a killed peer was handed to us (subreaper): wait for its
// end through pidfd, reap it, and make sure it is gone from the table.
void expect_reaped(int pidfd, pid_t pid) {
    EXPECT_TRUE(wait_pidfd(pidfd, kDeathTimeout)) << "VE process " << pid << " still running";
    close(pidfd);
    waitpid(pid, nullptr, WNOHANG);
    ProcEntry e;
    EXPECT_FALSE(read_proc_entry(pid, &e)) << "VE process " << pid << " left in the table";
    EXPECT_FALSE(socket_bound(pid));
}

class Lifecycle : public NoLeftoversTest {
  protected:
    void SetUp() override { ASSERT_NE(nullptr, me.h); }

    // This process attached the peer's area both ways; returns false on failure.
    bool attach_both(const PeerArea &a) {
        local = alloc_ve(me, kPage);
        if (local == nullptr)
            return false;
        fill_pattern(host_of(local), kPage, kLocalSeed, 0);
        lv = veo_register_mem_to_dmaatb(local, kPage);
        return lv != (uint64_t)-1 &&
               attach_error(me, a.proc.ve_pid, a.hmem, a.size, PCI | VE_REGISTER_VEMVA, &at) == 0 &&
               attach_error(me, a.proc.ve_pid, a.hmem, a.size, PCI | VE_REGISTER_VEHVA, &rv) == 0;
    }
    // The attachments still reach the (now ownerless) memory, both ways.
    void expect_attachments_work(const PeerArea &a) {
        std::vector<uint8_t> buf((1 << 20) + 4); // the last copy reads 1 MiB + 4
        ASSERT_EQ(0, veo_hmemcpy(buf.data(), offset(at, 5), buf.size()));
        EXPECT_EQ(-1, find_mismatch(buf.data(), buf.size(), kOwnerSeed, 5));
        fill_pattern(buf.data(), 4096, kWriteSeed, 0);
        ASSERT_EQ(0, veo_hmemcpy(offset(at, 3 << 20), buf.data(), 4096));
        ASSERT_EQ(0, veo_dma_post_wait(me, lv, (uint64_t)rv + (3 << 20), 4096));
        EXPECT_EQ(-1, find_mismatch(host_of(local), 4096, kWriteSeed, 0));
        ASSERT_EQ(0, veo_dma_post_wait(me, (uint64_t)rv + 64, lv + 64, (1 << 20) + 4));
        ASSERT_EQ(0, veo_hmemcpy(buf.data(), offset(at, 64), (1 << 20) + 4));
        EXPECT_EQ(
            -1, find_mismatch(buf.data() + 4096 - 64, (1 << 20) + 4 - 4096 + 64, kLocalSeed, 4096));
        // Nobody can attach any more: the owner is gone.
        EXPECT_EQ(ESRCH, attach_error(me, a.proc.ve_pid, a.hmem, a.size, PCI | VE_REGISTER_VEHVA));
        EXPECT_EQ(ESRCH, attach_error(me, a.proc.ve_pid, a.hmem, a.size, PCI | VE_REGISTER_VEMVA));
    }
    void detach_all() {
        EXPECT_EQ(0, detach_error(me, at, VE_REGISTER_VEMVA));
        EXPECT_EQ(0, detach_error(me, rv, VE_REGISTER_VEHVA));
        EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(me, lv));
    }

    VeProcess me{0};
    void *local = nullptr, *at = nullptr, *rv = nullptr;
    uint64_t lv = (uint64_t)-1;
};

TEST_F(Lifecycle, OwnerVhKilledWhileAttached) {
    Peer peer(peer_program());
    PeerArea area = peer_area(peer, peer_create(peer, 0), 2 * kPage, PCI, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    ASSERT_TRUE(attach_both(area));
    int pidfd = open_pidfd(area.proc.ve_pid);
    ASSERT_GE(pidfd, 0);
    peer.kill(SIGKILL);
    int status = peer.wait();
    EXPECT_TRUE(WIFSIGNALED(status));
    // Its VE process goes with it.
    expect_reaped(pidfd, area.proc.ve_pid);
    expect_attachments_work(area);
    detach_all();
}

TEST_F(Lifecycle, OwnerVeProcessKilledWhileAttached) {
    Peer peer(peer_program());
    PeerArea area = peer_area(peer, peer_create(peer, 0), 2 * kPage, PCI, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    ASSERT_TRUE(attach_both(area));
    ASSERT_EQ(0, kill(area.proc.ve_pid, SIGKILL));
    ASSERT_TRUE(wait_for_end(area.proc.ve_pid, kDeathTimeout));
    expect_attachments_work(area);
    // The owner's VH finds its VE process gone.
    std::string close_cmd = "close " + hex(area.hmem) + " " + hex(area.size) + " " + hex(PCI);
    EXPECT_EQ(EBUSY, peer.err(close_cmd));
    peer.ok("destroy " + area.proc.slot);
    ProcEntry e;
    EXPECT_FALSE(read_proc_entry(area.proc.ve_pid, &e));
    detach_all();
}

TEST_F(Lifecycle, VhKilledTakesItsVeProcessesAlong) {
    // This process owns an area the doomed VH has attached.
    void *mine = alloc_ve(me, kPage);
    ASSERT_NE(nullptr, mine);
    fill_pattern(host_of(mine), kPage, kOwnerSeed, 0);
    ASSERT_EQ(0, open_error(mine, kPage, PCI));

    Peer peer(peer_program());
    std::vector<PeerProc> procs;
    std::vector<int> pidfds;
    for (int node : {0, 1, 2}) {
        procs.push_back(peer_create(peer, node));
        ASSERT_GT(procs.back().ve_pid, 0);
        pidfds.push_back(open_pidfd(procs.back().ve_pid));
        ASSERT_GE(pidfds.back(), 0);
        PeerArea a = peer_area(peer, procs.back(), kPage, PCI, kWriteSeed);
        ASSERT_NE(nullptr, a.hmem);
        EXPECT_TRUE(socket_bound(procs.back().ve_pid));
    }
    std::string target = std::to_string(me.pid()) + " " + hex(mine) + " " + hex(kPage) + " ";
    peer.ok("attach " + procs[0].slot + " " + target + hex(PCI | VE_REGISTER_VEMVA));
    peer.ok("attach " + procs[1].slot + " " + target + hex(PCI | VE_REGISTER_VEHVA));
    EXPECT_EQ(2, attachments_of(me.pid()));

    peer.kill(SIGKILL);
    peer.wait();
    for (size_t i = 0; i < procs.size(); ++i)
        expect_reaped(pidfds[i], procs[i].ve_pid);
    EXPECT_EQ(0, attachments_of(me.pid()));

    // The survivor's area is intact and fully usable.
    EXPECT_EQ(-1, find_mismatch(host_of(mine), kPage, kOwnerSeed, 0));
    EXPECT_EQ(0, close_error(mine, kPage, PCI));
    EXPECT_EQ(0, open_error(mine, kPage, PCI));
    VeProcess other(0);
    ASSERT_NE(nullptr, other.h);
    void *x = nullptr;
    ASSERT_EQ(0, attach_error(other, me.pid(), mine, kPage, PCI | VE_REGISTER_VEMVA, &x));
    EXPECT_EQ(0, detach_error(other, x, VE_REGISTER_VEMVA));
    EXPECT_EQ(0, close_error(mine, kPage, PCI));
}

TEST_F(Lifecycle, AttacherKilledWhileAttached) {
    void *mine = alloc_ve(me, kPage);
    ASSERT_NE(nullptr, mine);
    fill_pattern(host_of(mine), kPage, kOwnerSeed, 0);
    ASSERT_EQ(0, open_error(mine, kPage, PCI));
    {
        Peer peer(peer_program());
        PeerProc p = peer_create(peer, 0);
        std::vector<std::string> r =
            peer.ok("attach " + p.slot + " " + std::to_string(me.pid()) + " " + hex(mine) + " " +
                    hex(kPage) + " " + hex(PCI | VE_REGISTER_VEMVA));
        ASSERT_EQ(1u, r.size());
        // Dies in the middle of writing into our area.
        peer.ok("fill " + r[0] + " 0x1000 " + std::to_string(kWriteSeed) + " 0");
        EXPECT_EQ(1, attachments_of(me.pid()));
        int pidfd = open_pidfd(p.ve_pid);
        peer.kill(SIGKILL);
        peer.wait();
        expect_reaped(pidfd, p.ve_pid);
    }
    // The owner saw the attacher go.
    EXPECT_EQ(0, attachments_of(me.pid()));
    EXPECT_EQ(-1, find_mismatch(host_of(mine), 0x1000, kWriteSeed, 0));
    EXPECT_EQ(-1, find_mismatch(host_of(mine) + 0x1000, kPage - 0x1000, kOwnerSeed, 0x1000));
    EXPECT_EQ(0, close_error(mine, kPage, PCI));
    EXPECT_EQ(0, veo_free_hmem(mine));
}

TEST_F(Lifecycle, DestroyWithAttachmentsLeavesNothing) {
    Peer peer(peer_program());
    PeerArea area = peer_area(peer, peer_create(peer, 1), kPage, PCI, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    // Destroying the attaching process without detaching first is allowed.
    VeProcess doomed(1);
    ASSERT_NE(nullptr, doomed.h);
    pid_t pid = doomed.pid();
    ASSERT_EQ(0, attach_error(doomed, area.proc.ve_pid, area.hmem, kPage, PCI | VE_REGISTER_VEHVA));
    ASSERT_EQ(0, attach_error(doomed, area.proc.ve_pid, area.hmem, kPage, PCI | VE_REGISTER_VEMVA));
    EXPECT_EQ(2, attachments_of(area.proc.ve_pid));
    doomed.reset();
    ProcEntry e;
    EXPECT_FALSE(read_proc_entry(pid, &e));
    EXPECT_EQ(0, attachments_of(area.proc.ve_pid));
    // The owner can still close (its count of attachments went back to zero).
    peer.ok("close " + hex(area.hmem) + " " + hex(area.size) + " " + hex(PCI));
}

} // namespace
} // namespace veshm_test

namespace veshm_test {
namespace {

// A VH process keeps one link per owner (core/veshm_client.hpp) and learns
// of an owner's death when it next calls the library: no thread watches the
// links. Every detach (and attach, veo_proc_destroy) drops the links of
// owners that have ended, with one poll() over all of them.
TEST_F(Lifecycle, NoLinkToAnEndedOwnerStaysOpen) {
    Peer peer(peer_program());
    PeerArea area = peer_area(peer, peer_create(peer, 1), kPage, PCI, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    void *rv = nullptr;
    ASSERT_EQ(0,
              attach_error(me, area.proc.ve_pid, area.hmem, kPage, PCI | VE_REGISTER_VEHVA, &rv));
    EXPECT_EQ(1u, veshm_links_to(area.proc.ve_pid).size());
    EXPECT_EQ(0, detach_error(me, rv, VE_REGISTER_VEHVA));
    // The owner lives: its link stays for the next attach.
    EXPECT_EQ(1u, veshm_links_to(area.proc.ve_pid).size());
    local = alloc_ve(me, kPage);
    ASSERT_NE(nullptr, local);
    lv = veo_register_mem_to_dmaatb(local, kPage);
    ASSERT_NE((uint64_t)-1, lv);
    int pidfd = open_pidfd(area.proc.ve_pid);
    peer.kill(SIGKILL);
    peer.wait();
    expect_reaped(pidfd, area.proc.ve_pid);
    // Nothing is attached and the owner is gone: the next detach of anything
    // closes the descriptor kept for it.
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(me, lv));
    EXPECT_EQ(0u, veshm_links_to(area.proc.ve_pid).size());
}

TEST_F(Lifecycle, DetachAfterTheOwnersDeathClosesItsLink) {
    Peer peer(peer_program());
    PeerArea area = peer_area(peer, peer_create(peer, 0), kPage, PCI, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    ASSERT_EQ(0,
              attach_error(me, area.proc.ve_pid, area.hmem, kPage, PCI | VE_REGISTER_VEHVA, &rv));
    ASSERT_EQ(0,
              attach_error(me, area.proc.ve_pid, area.hmem, kPage, PCI | VE_REGISTER_VEMVA, &at));
    int pidfd = open_pidfd(area.proc.ve_pid);
    peer.kill(SIGKILL);
    peer.wait();
    expect_reaped(pidfd, area.proc.ve_pid);
    // The attachments hold the link (their detach notices go through it).
    EXPECT_EQ(1u, veshm_links_to(area.proc.ve_pid).size());
    EXPECT_EQ(0, detach_error(me, rv, VE_REGISTER_VEHVA));
    EXPECT_EQ(1u, veshm_links_to(area.proc.ve_pid).size());
    // The last one's detach closes it.
    EXPECT_EQ(0, detach_error(me, at, VE_REGISTER_VEMVA));
    EXPECT_EQ(0u, veshm_links_to(area.proc.ve_pid).size());
}

} // namespace
} // namespace veshm_test
