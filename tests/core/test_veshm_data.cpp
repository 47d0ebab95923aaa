// Data across real processes, byte for byte: a peer VH process owns the area,
// this process attaches it. Same node: VE_REGISTER_VEMVA + veo_hmemcpy.
// Different nodes: VE_REGISTER_VEHVA + VE DMA. Sizes from 4 B to 128 MiB - 4,
// offsets off the natural alignments, the bytes around every copy unchanged.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"
#include "peer_areas.hpp"
#include "proc_table.hpp"

#include <thread>
#include <vector>

namespace veshm_test {
namespace {

constexpr long long PCI = VE_REGISTER_PCI;
constexpr long long NONE = VE_REGISTER_NONE;
constexpr size_t kGuard = 16;
constexpr uint64_t kOwnerSeed = 21, kWriteSeed = 22, kLocalSeed = 23;

class CrossProcess : public NoLeftoversTest {
  protected:
    void SetUp() override { ASSERT_NE(nullptr, me.h); }
    // Guards around [off, off+len) of the peer's area still hold kOwnerSeed.
    void expect_guards_intact(const PeerArea &a, uint64_t off, uint64_t len) {
        if (off >= kGuard)
            peer.ok(check_command(a.hmem, off - kGuard, kGuard, kOwnerSeed, off - kGuard));
        if (off + len + kGuard <= a.size)
            peer.ok(check_command(a.hmem, off + len, kGuard, kOwnerSeed, off + len));
    }

    Peer peer{peer_program()};
    VeProcess me{0};
};

struct Case {
    uint64_t off; // in the area
    uint64_t len;
};

// hmemcpy takes any offset and length.
const Case kHmemcpyCases[] = {{0, 4},         {1, 1},
                              {3, 5},         {4097, 4095},
                              {65535, 65537}, {(1 << 20) + 7, (3 << 20) + 1},
                              {kPage - 3, 6}, {5, (128 << 20) - 4}};

TEST_F(CrossProcess, SameNodeVemvaAttachAndHmemcpy) {
    PeerArea area = peer_area(peer, peer_create(peer, 0), 3 * kPage, NONE, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    void *at = nullptr;
    ASSERT_EQ(
        0, attach_error(me, area.proc.ve_pid, area.hmem, area.size, NONE | VE_REGISTER_VEMVA, &at));
    // An HMEM address of the attaching process.
    EXPECT_EQ(1, veo_is_ve_addr(at));
    EXPECT_EQ(veo_proc_identifier(me), veo_get_proc_identifier_from_hmem(at));
    EXPECT_EQ(me.pid(), veo_get_pid_from_hmem(at));
    // The attaching VE process maps the area at that VEMVA itself (for VE code).
    uint64_t vemva = (uint64_t)veo_get_hmem_addr(at);
    EXPECT_NE("", mapping_at(me.pid(), vemva));
    EXPECT_EQ(1, attachments_of(area.proc.ve_pid));

    for (const Case &c : kHmemcpyCases) {
        SCOPED_TRACE("offset " + std::to_string(c.off) + " length " + std::to_string(c.len));
        // Read: VE (the peer's memory) to host.
        std::vector<uint8_t> buf(c.len + 2 * kGuard);
        fill_pattern(buf.data(), buf.size(), 99, 0);
        ASSERT_EQ(0, veo_hmemcpy(buf.data() + kGuard, offset(at, c.off), c.len));
        EXPECT_EQ(-1, find_mismatch(buf.data(), kGuard, 99, 0));
        EXPECT_EQ(-1, find_mismatch(buf.data() + kGuard, c.len, kOwnerSeed, c.off));
        EXPECT_EQ(-1, find_mismatch(buf.data() + kGuard + c.len, kGuard, 99, kGuard + c.len));
        // Write: host to VE, checked by the owner in its own mapping.
        fill_pattern(buf.data(), c.len, kWriteSeed, c.off);
        ASSERT_EQ(0, veo_hmemcpy(offset(at, c.off), buf.data(), c.len));
        peer.ok(check_command(area.hmem, c.off, c.len, kWriteSeed, c.off));
        expect_guards_intact(area, c.off, c.len);
        peer.ok(fill_command(area.hmem, c.off, c.len, kOwnerSeed, c.off));
    }

    // VE to VE inside the attaching process: own memory <-> the attachment.
    void *own = alloc_ve(me, 2 * MiB, 64);
    ASSERT_NE(nullptr, own);
    fill_pattern(host_of(own), 2 * MiB, kLocalSeed, 0);
    ASSERT_EQ(0, veo_hmemcpy(offset(own, 3), offset(at, 12345), 1000001));
    EXPECT_EQ(-1, find_mismatch(host_of(own), 3, kLocalSeed, 0));
    EXPECT_EQ(-1, find_mismatch(host_of(own) + 3, 1000001, kOwnerSeed, 12345));
    EXPECT_EQ(-1, find_mismatch(host_of(own) + 1000004, 16, kLocalSeed, 1000004));
    fill_pattern(host_of(own), 2 * MiB, kLocalSeed, 0);
    ASSERT_EQ(0, veo_hmemcpy(offset(at, 777), offset(own, 1), 5001));
    peer.ok(check_command(area.hmem, 777, 5001, kLocalSeed, 1));
    expect_guards_intact(area, 777, 5001);
    EXPECT_EQ(0, veo_free_hmem(own));

    EXPECT_EQ(0, detach_error(me, at, VE_REGISTER_VEMVA));
    uint8_t b[4];
    EXPECT_NE(0, veo_hmemcpy(b, at, sizeof b)); // gone with the detach
    EXPECT_EQ("", mapping_at(me.pid(), vemva));
    EXPECT_EQ(0, attachments_of(area.proc.ve_pid));
    peer.ok("close " + hex(area.hmem) + " " + hex(area.size) + " " + hex((uint64_t)NONE));
}

struct DmaCase {
    uint64_t remote_off, local_off, len; // all multiples of 4, most not of 8
};

const DmaCase kDmaCases[] = {{0, 0, 4},
                             {4, 12, 8},
                             {12, 4, 12},
                             {4100, 8196, 4092},
                             {65540, 20, 4096},
                             {36, 1028, 4100},
                             {4, 8, 65532},
                             {260, 4, 256 << 10},
                             {4, 260, (256 << 10) + 4},
                             {(1 << 20) + 12, 4, (1 << 20) + 12},
                             {12, kPage - 4, (16 << 20) + 4},
                             {4, 12, (128 << 20) - 4}};

TEST_F(CrossProcess, DifferentNodesVehvaAttachAndDma) {
    PeerArea area = peer_area(peer, peer_create(peer, 1), 3 * kPage, PCI, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    void *local = alloc_ve(me, 3 * kPage);
    ASSERT_NE(nullptr, local);
    uint8_t *lh = host_of(local);
    fill_pattern(lh, 3 * kPage, kLocalSeed, 0);
    uint64_t lv = veo_register_mem_to_dmaatb(local, 3 * kPage);
    ASSERT_NE((uint64_t)-1, lv);
    void *rv = nullptr;
    ASSERT_EQ(
        0, attach_error(me, area.proc.ve_pid, area.hmem, area.size, PCI | VE_REGISTER_VEHVA, &rv));
    int writable = -1;
    EXPECT_NE(nullptr, veo_emu_vehva_to_vh(me, (uint64_t)rv, area.size, &writable));
    EXPECT_EQ(1, writable);

    bool wait_style = false;
    // post + poll, or post_wait: the two ways of running one transfer.
    auto transfer = [&](uint64_t dst, uint64_t src, uint64_t len) {
        wait_style = !wait_style;
        if (wait_style)
            return veo_dma_post_wait(me, dst, src, (int)len);
        ve_dma_handle_t h{};
        int rc = veo_dma_post(me, dst, src, (int)len, &h);
        if (rc != 0)
            return rc;
        while ((rc = veo_dma_poll(me, &h)) == -EAGAIN)
            std::this_thread::yield();
        return rc;
    };
    for (const DmaCase &c : kDmaCases) {
        SCOPED_TRACE("remote " + std::to_string(c.remote_off) + " local " +
                     std::to_string(c.local_off) + " length " + std::to_string(c.len));
        // Remote to local.
        ASSERT_EQ(0, transfer(lv + c.local_off, (uint64_t)rv + c.remote_off, c.len));
        if (c.local_off >= 4) {
            EXPECT_EQ(-1, find_mismatch(lh + c.local_off - 4, 4, kLocalSeed, c.local_off - 4))
                << "before";
        }
        EXPECT_EQ(-1, find_mismatch(lh + c.local_off, c.len, kOwnerSeed, c.remote_off));
        EXPECT_EQ(-1,
                  find_mismatch(lh + c.local_off + c.len, kGuard, kLocalSeed, c.local_off + c.len))
            << "after";
        // Local to remote.
        fill_pattern(lh + c.local_off, c.len, kWriteSeed, c.local_off);
        ASSERT_EQ(0, transfer((uint64_t)rv + c.remote_off, lv + c.local_off, c.len));
        peer.ok(check_command(area.hmem, c.remote_off, c.len, kWriteSeed, c.local_off));
        expect_guards_intact(area, c.remote_off, c.len);
        peer.ok(fill_command(area.hmem, c.remote_off, c.len, kOwnerSeed, c.remote_off));
        fill_pattern(lh + c.local_off, c.len, kLocalSeed, c.local_off);
    }
    EXPECT_EQ(1, attachments_of(area.proc.ve_pid));
    EXPECT_EQ(0, detach_error(me, rv, VE_REGISTER_VEHVA));
    EXPECT_EQ(0, attachments_of(area.proc.ve_pid));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(me, lv, (uint64_t)rv, 64));
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(me, lv));
    peer.ok("close " + hex(area.hmem) + " " + hex(area.size) + " " + hex((uint64_t)PCI));
}

TEST_F(CrossProcess, ReadOnlyAreaRefusesDmaWrites) {
    const long long flags = PCI | VE_SHM_RO;
    PeerArea area = peer_area(peer, peer_create(peer, 1), kPage, flags, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    void *local = alloc_ve(me, kPage);
    ASSERT_NE(nullptr, local);
    fill_pattern(host_of(local), kPage, kLocalSeed, 0);
    uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
    ASSERT_NE((uint64_t)-1, lv);
    // The open flags are part of the area's name.
    EXPECT_EQ(ENOENT,
              attach_error(me, area.proc.ve_pid, area.hmem, kPage, PCI | VE_REGISTER_VEHVA));
    void *rv = nullptr;
    ASSERT_EQ(0,
              attach_error(me, area.proc.ve_pid, area.hmem, kPage, flags | VE_REGISTER_VEHVA, &rv));
    int writable = -1;
    EXPECT_NE(nullptr, veo_emu_vehva_to_vh(me, (uint64_t)rv, kPage, &writable));
    EXPECT_EQ(0, writable);

    ASSERT_EQ(0, veo_dma_post_wait(me, lv + 4, (uint64_t)rv + 8, 4096));
    EXPECT_EQ(-1, find_mismatch(host_of(local) + 4, 4096, kOwnerSeed, 8));
    EXPECT_EQ(VE_DMA_EXC_PROTECTION, veo_dma_post_wait(me, (uint64_t)rv, lv, 4096));
    ve_dma_handle_t h{};
    ASSERT_EQ(0, veo_dma_post(me, (uint64_t)rv + 4, lv, 1 << 20, &h));
    int rc;
    while ((rc = veo_dma_poll(me, &h)) == -EAGAIN)
        std::this_thread::yield();
    EXPECT_EQ(VE_DMA_EXC_PROTECTION, rc);
    peer.ok(check_command(area.hmem, 0, kPage, kOwnerSeed, 0));

    EXPECT_EQ(0, detach_error(me, rv, VE_REGISTER_VEHVA));
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(me, lv));
    peer.ok("close " + hex(area.hmem) + " " + hex(area.size) + " " + hex((uint64_t)flags));
}

TEST_F(CrossProcess, ReadOnlyAreaRefusesHmemcpyWrites) {
    const long long flags = NONE | VE_SHM_RO;
    PeerArea area = peer_area(peer, peer_create(peer, 0), kPage, flags, kOwnerSeed);
    ASSERT_NE(nullptr, area.hmem);
    void *at = nullptr;
    ASSERT_EQ(0,
              attach_error(me, area.proc.ve_pid, area.hmem, kPage, flags | VE_REGISTER_VEMVA, &at));
    std::vector<uint8_t> buf(8192);
    ASSERT_EQ(0, veo_hmemcpy(buf.data(), offset(at, 3), buf.size()));
    EXPECT_EQ(-1, find_mismatch(buf.data(), buf.size(), kOwnerSeed, 3));
    // Writing into a read-only attachment is an error, not a crash.
    fill_pattern(buf.data(), buf.size(), kWriteSeed, 0);
    EXPECT_EQ(-1, veo_hmemcpy(offset(at, 3), buf.data(), buf.size()));
    void *own = alloc_ve(me, 8192, 64);
    ASSERT_NE(nullptr, own);
    EXPECT_EQ(-1, veo_hmemcpy(at, own, 8192));
    peer.ok(check_command(area.hmem, 0, kPage, kOwnerSeed, 0));
    EXPECT_EQ(0, veo_free_hmem(own));
    EXPECT_EQ(0, detach_error(me, at, VE_REGISTER_VEMVA));
    peer.ok("close " + hex(area.hmem) + " " + hex(area.size) + " " + hex((uint64_t)flags));
}

TEST_F(CrossProcess, PeerWritesReachTheOwner) {
    // The other direction: this process owns, the peer attaches and writes.
    void *mine = alloc_ve(me, kPage);
    ASSERT_NE(nullptr, mine);
    fill_pattern(host_of(mine), kPage, kOwnerSeed, 0);
    ASSERT_EQ(0, open_error(mine, kPage, PCI));
    PeerProc near = peer_create(peer, 0), far = peer_create(peer, 5);
    std::vector<std::string> r =
        peer.ok("attach " + near.slot + " " + std::to_string(me.pid()) + " " + hex(mine) + " " +
                hex(kPage) + " " + hex((uint64_t)(PCI | VE_REGISTER_VEMVA)));
    ASSERT_EQ(1u, r.size());
    std::string at = r[0];
    peer.ok("fill " + hex(number(at) + 101) + " 5000 " + std::to_string(kWriteSeed) + " 7");
    EXPECT_EQ(-1, find_mismatch(host_of(mine) + 101, 5000, kWriteSeed, 7));
    EXPECT_EQ(-1, find_mismatch(host_of(mine) + 5101, 64, kOwnerSeed, 5101));
    // And by DMA from another node.
    std::vector<std::string> lr =
        peer.ok("alloc " + far.slot + " " + hex(kPage) + " " + hex(kPage));
    ASSERT_EQ(1u, lr.size());
    peer.ok("fill " + lr[0] + " 0x10000 " + std::to_string(kLocalSeed) + " 0");
    std::vector<std::string> lv = peer.ok("regdma " + lr[0] + " " + hex(kPage));
    std::vector<std::string> rv =
        peer.ok("attach " + far.slot + " " + std::to_string(me.pid()) + " " + hex(mine) + " " +
                hex(kPage) + " " + hex((uint64_t)(PCI | VE_REGISTER_VEHVA)));
    ASSERT_EQ(1u, lv.size());
    ASSERT_EQ(1u, rv.size());
    EXPECT_EQ(std::vector<std::string>{"0"},
              peer.ok("dma " + far.slot + " " + hex(number(rv[0]) + 0x100004) + " " + lv[0] +
                      " 0x10000"));
    EXPECT_EQ(-1, find_mismatch(host_of(mine) + 0x100004, 0x10000, kLocalSeed, 0));
    peer.ok("detach " + near.slot + " " + at + " " + hex((uint64_t)VE_REGISTER_VEMVA));
    peer.ok("detach " + far.slot + " " + rv[0] + " " + hex((uint64_t)VE_REGISTER_VEHVA));
    EXPECT_EQ(0, close_error(mine, kPage, PCI));
}

} // namespace
} // namespace veshm_test
