// VH System V shared memory for VE DMA (veo_vhveshm.h): data through DMA in
// both directions (VE memory and a VESHM area of another VE process), read-only
// attachments, detach while a transfer runs, clean-up at process end, every
// documented errno; and veo_arch_number_sysfs (veo_get_arch_info.h).
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"
#include "vh_segment.hpp"
#include "without_ipc_owner.hpp"

#include <veo_get_arch_info.h>
#include <veo_vhveshm.h>

#include <csignal>
#include <thread>

namespace veshm_test {
namespace {

class VhShm : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, proc.h);
        ve = alloc_ve(proc, kPage);
        ASSERT_NE(nullptr, ve);
        ve_vehva = veo_register_mem_to_dmaatb(ve, kPage);
        ASSERT_NE((uint64_t)-1, ve_vehva);
    }
    void TearDown() override {
        if (ve_vehva != (uint64_t)-1 && proc.h != nullptr && !helper_killed) {
            EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(proc, ve_vehva));
        }
    }
    // Attaches seg to proc with flags: the VH address, or nullptr (with the
    // test failed) on error.
    void *attach(const VhSegment &seg, uint64_t *vehva, int flags = 0) {
        void *v = nullptr;
        errno = 0;
        void *at = veo_shmat(proc, seg.id(), nullptr, flags, &v);
        EXPECT_NE((void *)-1, at) << strerror(errno);
        if (at == (void *)-1)
            return nullptr;
        *vehva = (uint64_t)v;
        return at;
    }
    void kill_helper() {
        ASSERT_EQ(0, kill(proc.pid(), SIGKILL));
        ASSERT_TRUE(wait_child_ended(proc.pid()));
        helper_killed = true;
    }
    int wait(ve_dma_handle_t *h) {
        int rc;
        while ((rc = veo_dma_poll(proc, h)) == -EAGAIN)
            std::this_thread::yield();
        return rc;
    }

    VeProcess proc{0};
    void *ve = nullptr;
    uint64_t ve_vehva = (uint64_t)-1;
    bool helper_killed = false;
};

// 0 if veo_shmget succeeded (its identifier in *id), else its errno.
int shmget_error(veo_proc_handle *h, key_t key, size_t size, int flags, int *id = nullptr) {
    errno = 0;
    int rc = veo_shmget(h, key, size, flags);
    if (id)
        *id = rc;
    return rc == -1 ? errno : 0;
}
// 0 if veo_shmat succeeded (detached again at once), else its errno.
int shmat_error(veo_proc_handle *h, int shmid, const void *shmaddr, int flags) {
    void *vehva = nullptr;
    errno = 0;
    void *at = veo_shmat(h, shmid, shmaddr, flags, &vehva);
    if (at != (void *)-1) {
        EXPECT_EQ(0, veo_shmdt(h, at));
        return 0;
    }
    return errno;
}
int shmdt_error(veo_proc_handle *h, const void *at) {
    errno = 0;
    int rc = veo_shmdt(h, at);
    if (rc == 0)
        return 0;
    EXPECT_EQ(-1, rc);
    return errno;
}

constexpr int kGetFlags = SHM_HUGETLB | 0600;

TEST_F(VhShm, DataBothWaysThroughDma) {
    const size_t n = 3 * MiB + 4096;
    VhSegment seg(n);
    ASSERT_TRUE(seg.ok());
    int id = -1;
    ASSERT_EQ(0, shmget_error(proc, seg.key(), n, kGetFlags, &id));
    EXPECT_EQ(seg.id(), id);
    uint64_t vehva = 0;
    auto *at = static_cast<uint8_t *>(attach(seg, &vehva));
    ASSERT_NE(nullptr, at);
    EXPECT_EQ(2, seg.attach_count()); // the test's own view and veo_shmat's
    EXPECT_EQ(0u, vehva % 4096);

    // VH segment -> VE memory, written through the test's own view.
    fill_pattern(seg.view(), n, 11, 0);
    ASSERT_EQ(0, veo_dma_post_wait(proc, ve_vehva, vehva, (int)n));
    EXPECT_EQ(-1, find_mismatch(host_of(ve), n, 11, 0));
    // VE memory -> VH segment, at an offset, posted and polled.
    fill_pattern(host_of(ve), n, 12, 0);
    ve_dma_handle_t h{};
    ASSERT_EQ(0, veo_dma_post(proc, vehva + 4096, ve_vehva, (int)(n - 4096), &h));
    ASSERT_EQ(0, wait(&h));
    EXPECT_EQ(-1, find_mismatch(seg.view(), 4096, 11, 0));
    EXPECT_EQ(-1, find_mismatch(seg.view() + 4096, n - 4096, 12, 0));
    // The returned address is the segment too.
    EXPECT_EQ(0, memcmp(at, seg.view(), n));
    // Within the segment's pages only.
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, ve_vehva, vehva + n - 4, 8));

    ASSERT_EQ(0, shmdt_error(proc, at));
    EXPECT_EQ(1, seg.attach_count());
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, ve_vehva, vehva, 4));
}

TEST_F(VhShm, DataBetweenSegmentAndVeshmArea) {
    VeProcess owner(1);
    ASSERT_NE(nullptr, owner.h);
    void *area = alloc_ve(owner, kPage);
    ASSERT_NE(nullptr, area);
    ASSERT_EQ(0, open_error(area, kPage, VE_REGISTER_PCI));
    void *area_vehva = nullptr;
    ASSERT_EQ(0, attach_error(proc, owner.pid(), area, kPage, VE_REGISTER_PCI | VE_REGISTER_VEHVA,
                              &area_vehva));
    const size_t n = 2 * MiB;
    VhSegment seg(n);
    ASSERT_TRUE(seg.ok());
    uint64_t vehva = 0;
    void *at = attach(seg, &vehva);
    ASSERT_NE(nullptr, at);

    fill_pattern(seg.view(), n, 21, 0);
    ASSERT_EQ(0, veo_dma_post_wait(proc, (uint64_t)area_vehva + 64, vehva, (int)n));
    EXPECT_EQ(-1, find_mismatch(host_of(area) + 64, n, 21, 0));
    fill_pattern(host_of(area), n, 22, 0);
    ASSERT_EQ(0, veo_dma_post_wait(proc, vehva, (uint64_t)area_vehva, (int)n));
    EXPECT_EQ(-1, find_mismatch(seg.view(), n, 22, 0));

    EXPECT_EQ(0, shmdt_error(proc, at));
    EXPECT_EQ(0, detach_error(proc, area_vehva, VE_REGISTER_VEHVA));
    EXPECT_EQ(0, close_error(area, kPage, VE_REGISTER_PCI));
}

TEST_F(VhShm, ReadOnlyAttachmentRefusesDmaWrites) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    fill_pattern(seg.view(), seg.size(), 31, 0);
    uint64_t vehva = 0;
    void *at = attach(seg, &vehva, SHM_RDONLY);
    ASSERT_NE(nullptr, at);
    ASSERT_EQ(0, veo_dma_post_wait(proc, ve_vehva, vehva, (int)seg.size()));
    EXPECT_EQ(-1, find_mismatch(host_of(ve), seg.size(), 31, 0));
    fill_pattern(host_of(ve), seg.size(), 32, 0);
    EXPECT_EQ(VE_DMA_EXC_PROTECTION, veo_dma_post_wait(proc, vehva, ve_vehva, 64));
    EXPECT_EQ(-1, find_mismatch(seg.view(), seg.size(), 31, 0));
    EXPECT_EQ(0, shmdt_error(proc, at));
}

TEST_F(VhShm, SmallerSizeFindsTheWholeSegment) {
    VhSegment seg(1 * MiB);
    ASSERT_TRUE(seg.ok());
    int id = -1;
    ASSERT_EQ(0, shmget_error(proc, seg.key(), 4096, kGetFlags, &id));
    EXPECT_EQ(seg.id(), id);
    ASSERT_EQ(0, shmget_error(proc, seg.key(), 0, kGetFlags, &id));
    EXPECT_EQ(seg.id(), id);
    void *v = nullptr;
    void *at = veo_shmat(proc, id, nullptr, 0, &v);
    ASSERT_NE((void *)-1, at);
    // The last word of the segment is reachable.
    fill_pattern(host_of(ve), 4, 41, 0);
    ASSERT_EQ(0, veo_dma_post_wait(proc, (uint64_t)v + MiB - 4, ve_vehva, 4));
    EXPECT_EQ(-1, find_mismatch(seg.view() + MiB - 4, 4, 41, 0));
    EXPECT_EQ(0, shmdt_error(proc, at));
}

TEST_F(VhShm, DetachWhileATransferRuns) {
    const size_t n = 32 * MiB;
    VhSegment seg(n);
    ASSERT_TRUE(seg.ok());
    fill_pattern(seg.view(), n, 51, 0);
    uint64_t vehva = 0;
    void *at = attach(seg, &vehva);
    ASSERT_NE(nullptr, at);
    ve_dma_handle_t h{};
    ASSERT_EQ(0, veo_dma_post(proc, ve_vehva, vehva, (int)n, &h));
    // The entry is gone at once; the pages stay until the transfer is done.
    ASSERT_EQ(0, shmdt_error(proc, at));
    EXPECT_EQ(0, wait(&h));
    EXPECT_EQ(-1, find_mismatch(host_of(ve), n, 51, 0));
    EXPECT_EQ(1, seg.attach_count());
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, ve_vehva, vehva, 4));
}

TEST_F(VhShm, ProcessEndDetaches) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    {
        VeProcess other(2);
        ASSERT_NE(nullptr, other.h);
        void *v = nullptr;
        ASSERT_NE((void *)-1, veo_shmat(other, seg.id(), nullptr, 0, &v));
        ASSERT_NE((void *)-1, veo_shmat(other, seg.id(), nullptr, SHM_RDONLY, &v));
        EXPECT_EQ(3, seg.attach_count());
    }
    EXPECT_EQ(1, seg.attach_count());
}

TEST_F(VhShm, AttachSegmentMarkedForRemoval) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    ASSERT_TRUE(seg.remove()); // stays while the test's own view holds it
    uint64_t vehva = 0;
    void *at = attach(seg, &vehva);
    ASSERT_NE(nullptr, at);
    fill_pattern(seg.view(), 4096, 61, 0);
    ASSERT_EQ(0, veo_dma_post_wait(proc, ve_vehva, vehva, 4096));
    EXPECT_EQ(-1, find_mismatch(host_of(ve), 4096, 61, 0));
    EXPECT_EQ(0, shmdt_error(proc, at));
}

// --- veo_shmget ------------------------------------------------------------

TEST_F(VhShm, ShmgetEinval) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    EXPECT_EQ(EINVAL, shmget_error(nullptr, seg.key(), seg.size(), kGetFlags));
    EXPECT_EQ(EINVAL, shmget_error(proc, seg.key(), seg.size(), 0600));
    EXPECT_EQ(EINVAL, shmget_error(proc, seg.key(), seg.size(), kGetFlags | IPC_CREAT));
    EXPECT_EQ(EINVAL, shmget_error(proc, seg.key(), seg.size(), kGetFlags | IPC_EXCL));
    EXPECT_EQ(EINVAL, shmget_error(proc, seg.key(), seg.size(), kGetFlags | SHM_NORESERVE));
    EXPECT_EQ(EINVAL, shmget_error(proc, IPC_PRIVATE, seg.size(), kGetFlags));
    EXPECT_EQ(EINVAL, shmget_error(proc, seg.key(), seg.size() + 1, kGetFlags));
    EXPECT_EQ(0, shmget_error(proc, seg.key(), seg.size(), kGetFlags));
}

TEST_F(VhShm, ShmgetEnoent) {
    key_t unused = VhSegment::unused_key();
    EXPECT_EQ(ENOENT, shmget_error(proc, unused, 4096, kGetFlags));
    // Looking up never creates.
    EXPECT_EQ(ENOENT, shmget_error(proc, unused, 4096, kGetFlags));
}

TEST_F(VhShm, ShmgetEacces) {
    VhSegment seg(64 * 1024, 0400);
    ASSERT_TRUE(seg.ok());
    without_ipc_owner([&] {
        EXPECT_EQ(EACCES, shmget_error(proc, seg.key(), seg.size(), SHM_HUGETLB | 0600));
        EXPECT_EQ(0, shmget_error(proc, seg.key(), seg.size(), SHM_HUGETLB | 0400));
    });
}

TEST_F(VhShm, ShmgetEbusyVeProcessGone) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    kill_helper();
    EXPECT_EQ(EBUSY, shmget_error(proc, seg.key(), seg.size(), kGetFlags));
}

// --- veo_shmat -------------------------------------------------------------

TEST_F(VhShm, ShmatEfaultNullVehva) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    errno = 0;
    EXPECT_EQ((void *)-1, veo_shmat(proc, seg.id(), nullptr, 0, nullptr));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_EQ(1, seg.attach_count());
}

TEST_F(VhShm, ShmatEinval) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    EXPECT_EQ(EINVAL, shmat_error(nullptr, seg.id(), nullptr, 0));
    EXPECT_EQ(EINVAL, shmat_error(proc, seg.id(), seg.view(), 0));
    EXPECT_EQ(EINVAL, shmat_error(proc, seg.id(), nullptr, SHM_EXEC));
    EXPECT_EQ(EINVAL, shmat_error(proc, seg.id(), nullptr, SHM_REMAP));
    EXPECT_EQ(EINVAL, shmat_error(proc, seg.id(), nullptr, SHM_RND));
    EXPECT_EQ(EINVAL, shmat_error(proc, -1, nullptr, 0));
    // An identifier veo_shmget never gave and no segment has.
    VhSegment gone(4096);
    ASSERT_TRUE(gone.ok());
    int stale = gone.id();
    gone.reset();
    EXPECT_EQ(EINVAL, shmat_error(proc, stale, nullptr, 0));
    EXPECT_EQ(1, seg.attach_count()); // nothing stayed attached
    EXPECT_EQ(0, shmat_error(proc, seg.id(), nullptr, 0));
}

TEST_F(VhShm, ShmatEidrmRemovedSegment) {
    int id = -1;
    {
        VhSegment seg(64 * 1024);
        ASSERT_TRUE(seg.ok());
        ASSERT_EQ(0, shmget_error(proc, seg.key(), seg.size(), kGetFlags, &id));
    } // removed, and detached by the test: gone
    EXPECT_EQ(EIDRM, shmat_error(proc, id, nullptr, 0));
}

TEST_F(VhShm, ShmatEacces) {
    VhSegment seg(64 * 1024, 0400);
    ASSERT_TRUE(seg.ok());
    without_ipc_owner([&] {
        EXPECT_EQ(EACCES, shmat_error(proc, seg.id(), nullptr, 0));
        EXPECT_EQ(0, shmat_error(proc, seg.id(), nullptr, SHM_RDONLY));
    });
    EXPECT_EQ(1, seg.attach_count());
}

TEST_F(VhShm, ShmatEbusyVeProcessGone) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    kill_helper();
    EXPECT_EQ(EBUSY, shmat_error(proc, seg.id(), nullptr, 0));
    EXPECT_EQ(1, seg.attach_count());
}

// --- veo_shmdt -------------------------------------------------------------

TEST_F(VhShm, ShmdtEinval) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    VeProcess other(0);
    ASSERT_NE(nullptr, other.h);
    uint64_t vehva = 0;
    auto *at = static_cast<uint8_t *>(attach(seg, &vehva));
    ASSERT_NE(nullptr, at);
    EXPECT_EQ(EINVAL, shmdt_error(nullptr, at));
    EXPECT_EQ(EINVAL, shmdt_error(proc, at + 4096));     // inside, not its start
    EXPECT_EQ(EINVAL, shmdt_error(proc, (void *)vehva)); // the VEHVA, not the address
    EXPECT_EQ(EINVAL, shmdt_error(other, at));           // another process's attachment
    EXPECT_EQ(EINVAL, shmdt_error(proc, seg.view()));    // attached, not by veo_shmat
    EXPECT_EQ(EINVAL, shmdt_error(proc, host_of(ve)));   // VE memory
    // Memory registered by the emulator's extension is not a veo_shmat one.
    uint64_t vh = veo_emu_register_vh_mem(proc, seg.view(), 4096);
    ASSERT_NE((uint64_t)-1, vh);
    EXPECT_EQ(EINVAL, shmdt_error(proc, seg.view()));
    EXPECT_EQ(0, veo_emu_unregister_vh_mem(proc, vh));
    EXPECT_EQ(2, seg.attach_count());
    EXPECT_EQ(0, shmdt_error(proc, at));
    EXPECT_EQ(EINVAL, shmdt_error(proc, at)); // twice
    EXPECT_EQ(1, seg.attach_count());
}

TEST_F(VhShm, ShmdtEbusyVeProcessGoneThenDestroyDetaches) {
    VhSegment seg(64 * 1024);
    ASSERT_TRUE(seg.ok());
    uint64_t vehva = 0;
    void *at = attach(seg, &vehva);
    ASSERT_NE(nullptr, at);
    kill_helper();
    EXPECT_EQ(EBUSY, shmdt_error(proc, at));
    EXPECT_EQ(2, seg.attach_count());
    proc.reset();
    EXPECT_EQ(1, seg.attach_count());
}

// --- veo_arch_number_sysfs -------------------------------------------------

TEST(VeArchNumber, EveryEmulatedNodeIsVe1) {
    const int nodes = veo_emu_node_count();
    ASSERT_GT(nodes, 0);
    EXPECT_EQ(1, veo_arch_number_sysfs(-1));
    for (int node = 0; node < nodes; ++node) {
        EXPECT_EQ(1, veo_arch_number_sysfs(node)) << node;
        EXPECT_EQ(veo_get_ve_arch(node), veo_arch_number_sysfs(node)) << node;
    }
    EXPECT_EQ(-1, veo_arch_number_sysfs(nodes));
    EXPECT_EQ(-1, veo_arch_number_sysfs(-2));
    // The sysfs names of AVEO's header, for code that builds the path itself.
    EXPECT_STREQ("/sys/class/ve", CLASS_VE);
    EXPECT_STREQ("ve_arch_class", ARCH_FILE);
    EXPECT_EQ(16, ARCH_FILE_BSIZE);
    EXPECT_EQ(64, ARCH_PATH_BSIZE);
}

// veo_get_ve_arch(-1) names the node veo_proc_create(-1) would use.
TEST(VeArchNumber, MinusOneFollowsVeNodeNumber) {
    const int nodes = veo_emu_node_count();
    unsetenv("VE_NODE_NUMBER");
    EXPECT_EQ(1, veo_get_ve_arch(-1));
    setenv("VE_NODE_NUMBER", std::to_string(nodes).c_str(), 1);
    EXPECT_EQ(-1, veo_get_ve_arch(-1)) << "a node that does not exist";
    setenv("VE_NODE_NUMBER", "x", 1);
    EXPECT_EQ(-1, veo_get_ve_arch(-1)) << "not a number";
    setenv("VE_NODE_NUMBER", std::to_string(nodes - 1).c_str(), 1);
    EXPECT_EQ(1, veo_get_ve_arch(-1));
    unsetenv("VE_NODE_NUMBER");
}

} // namespace
} // namespace veshm_test
