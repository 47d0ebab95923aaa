// Every errno of veo_shared_mem_open/close/attach/detach (the contract:
// docs/VESHM_SPEC.md) that the default platform can produce, one condition per
// test. Owner and attachers are separate VE processes (helper processes);
// the configuration-dependent ones (PCIATB/DMAATB full, 2 MiB pages, no IVED)
// are in their own executables, ECANCELED for a dying VE process in
// tests/cancel.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"

#include <csignal>
#include <unistd.h>

namespace veshm_test {
namespace {

constexpr long long PCI = VE_REGISTER_PCI;
constexpr long long NONE = VE_REGISTER_NONE;
constexpr long long VEHVA = VE_REGISTER_VEHVA;
constexpr long long VEMVA = VE_REGISTER_VEMVA;

class VeshmErrors : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, owner.h);
        ASSERT_NE(nullptr, attacher.h);
        area = alloc_ve(owner, 2 * kPage);
        ASSERT_NE(nullptr, area);
        owner_pid = veo_get_pid_from_hmem(area);
    }
    // Kills the VE process of p (as a crash would) and waits until it is gone.
    static void kill_helper(VeProcess &p) {
        ASSERT_EQ(0, kill(p.pid(), SIGKILL));
        ASSERT_TRUE(wait_child_ended(p.pid()));
    }

    VeProcess owner{0};
    VeProcess attacher{0};
    void *area = nullptr;
    pid_t owner_pid = -1;
};

// --- veo_shared_mem_open ---------------------------------------------------

TEST_F(VeshmErrors, OpenEinvalNotAnHmemAddress) {
    int x;
    EXPECT_EQ(EINVAL, open_error(&x, kPage, PCI));
    EXPECT_EQ(EINVAL, open_error(nullptr, kPage, PCI));
    EXPECT_EQ(EINVAL, open_error(veo_get_hmem_addr(area), kPage, PCI));
}

TEST_F(VeshmErrors, OpenEinvalSyncnumNotZero) {
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI, 1));
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI, 3));
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI, -1));
}

TEST_F(VeshmErrors, OpenEinvalSize) {
    EXPECT_EQ(EINVAL, open_error(area, 0, PCI));
    EXPECT_EQ(EINVAL, open_error(area, (size_t)-1 & ~(kPage - 1), PCI)); // "too big"
    EXPECT_EQ(EINVAL, open_error(area, kPage + 4096, PCI));
    EXPECT_EQ(EINVAL, open_error(area, kPage + 4096, NONE));
}

TEST_F(VeshmErrors, OpenEinvalMisalignedAddress) {
    EXPECT_EQ(EINVAL, open_error(offset(area, 4096), kPage, PCI));
    EXPECT_EQ(EINVAL, open_error(offset(area, 4096), kPage, NONE));
    EXPECT_EQ(EINVAL, open_error(offset(area, 1), kPage, NONE));
}

TEST_F(VeshmErrors, OpenEinvalFlags) {
    EXPECT_EQ(EINVAL, open_error(area, kPage, 0));                  // neither PCI nor NONE
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI | NONE));         // both
    EXPECT_EQ(EINVAL, open_error(area, kPage, VE_SHM_RO));          // neither
    EXPECT_EQ(EINVAL, open_error(area, kPage, NONE | VE_PCISYNC));  // sync needs PCI
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI | 0x100));        // unknown bit
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI | VEHVA));        // attach flag
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI | VEMVA));        // attach flag
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI | VE_MEM_LOCAL)); // attach flag
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI | (1LL << 40)));  // unknown bit
    // None of the refused opens registered anything.
    EXPECT_EQ(0, open_error(area, kPage, PCI));
    EXPECT_EQ(0, close_error(area, kPage, PCI));
}

TEST_F(VeshmErrors, OpenEinvalDuplicate) {
    ASSERT_EQ(0, open_error(area, kPage, PCI));
    EXPECT_EQ(EINVAL, open_error(area, kPage, PCI));
    // Other values name another area.
    EXPECT_EQ(0, open_error(area, kPage, PCI | VE_SHM_RO));
    EXPECT_EQ(0, open_error(area, 2 * kPage, PCI));
    EXPECT_EQ(0, close_error(area, kPage, PCI));
    EXPECT_EQ(0, close_error(area, kPage, PCI | VE_SHM_RO));
    EXPECT_EQ(0, close_error(area, 2 * kPage, PCI));
}

TEST_F(VeshmErrors, OpenEnomemNotAllocated) {
    // Aligned and in the VE's memory, but never allocated.
    EXPECT_EQ(ENOMEM, open_error(offset(area, 16 * kPage), kPage, PCI));
    // Runs past the allocated block.
    EXPECT_EQ(ENOMEM, open_error(area, 4 * kPage, PCI));
    EXPECT_EQ(ENOMEM, open_error(area, 4 * kPage, NONE));
    // Freed memory is not memory any more.
    void *gone = alloc_ve(owner, kPage);
    ASSERT_NE(nullptr, gone);
    ASSERT_EQ(0, veo_free_hmem(gone));
    EXPECT_EQ(ENOMEM, open_error(gone, kPage, PCI));
}

TEST_F(VeshmErrors, OpenEaccesSomeoneElsesAttachedArea) {
    ASSERT_EQ(0, open_error(area, kPage, NONE));
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, NONE | VEMVA, &at));
    // The attacher may use the area but not share it on as its own.
    EXPECT_EQ(EACCES, open_error(at, kPage, NONE));
    EXPECT_EQ(EACCES, open_error(at, kPage, PCI));
    EXPECT_EQ(0, detach_error(attacher, at, VEMVA));
    EXPECT_EQ(0, close_error(area, kPage, NONE));
}

TEST_F(VeshmErrors, OpenEbusyVeProcessGone) {
    kill_helper(owner);
    EXPECT_EQ(EBUSY, open_error(area, kPage, PCI));
}

// --- veo_shared_mem_close --------------------------------------------------

TEST_F(VeshmErrors, CloseEinvalNotOpen) {
    EXPECT_EQ(EINVAL, close_error(area, kPage, PCI));
    ASSERT_EQ(0, open_error(area, kPage, PCI));
    // Other values than at open.
    EXPECT_EQ(EINVAL, close_error(area, kPage, PCI | VE_SHM_RO));
    EXPECT_EQ(EINVAL, close_error(area, 2 * kPage, PCI));
    EXPECT_EQ(EINVAL, close_error(offset(area, kPage), kPage, PCI));
    EXPECT_EQ(0, close_error(area, kPage, PCI));
    EXPECT_EQ(EINVAL, close_error(area, kPage, PCI)); // twice
}

TEST_F(VeshmErrors, CloseEinvalBadValues) {
    ASSERT_EQ(0, open_error(area, kPage, PCI));
    int x;
    EXPECT_EQ(EINVAL, close_error(&x, kPage, PCI));
    EXPECT_EQ(EINVAL, close_error(area, kPage, PCI, 1));
    EXPECT_EQ(EINVAL, close_error(area, 0, PCI));
    EXPECT_EQ(EINVAL, close_error(area, kPage, PCI | NONE));
    EXPECT_EQ(EINVAL, close_error(offset(area, 4096), kPage, PCI));
    EXPECT_EQ(0, close_error(area, kPage, PCI));
}

TEST_F(VeshmErrors, CloseEbusyVeProcessGone) {
    ASSERT_EQ(0, open_error(area, kPage, PCI));
    kill_helper(owner);
    EXPECT_EQ(EBUSY, close_error(area, kPage, PCI));
}

TEST_F(VeshmErrors, CloseKeepsAttachmentsButEndsNewOnes) {
    ASSERT_EQ(0, open_error(area, kPage, NONE));
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, NONE | VEMVA, &at));
    ASSERT_EQ(0, close_error(area, kPage, NONE));
    EXPECT_EQ(ENOENT, attach_error(attacher, owner_pid, area, kPage, NONE | VEMVA));
    fill_pattern(host_of(area), 4096, 7, 0);
    uint8_t buf[4096];
    ASSERT_EQ(0, veo_hmemcpy(buf, at, sizeof buf));
    EXPECT_EQ(-1, find_mismatch(buf, sizeof buf, 7, 0));
    EXPECT_EQ(0, detach_error(attacher, at, VEMVA));
}

// --- veo_shared_mem_attach -------------------------------------------------

class VeshmAttachErrors : public VeshmErrors {
  protected:
    void SetUp() override {
        VeshmErrors::SetUp();
        ASSERT_EQ(0, open_error(area, kPage, PCI));
    }
    void TearDown() override {
        if (veo_emu_proc_pid(owner) > 0 && kill(owner.pid(), 0) == 0)
            veo_shared_mem_close(area, kPage, 0, PCI);
    }
};

TEST_F(VeshmAttachErrors, EinvalNullHandle) {
    EXPECT_EQ(EINVAL, attach_error(nullptr, owner_pid, area, kPage, PCI | VEHVA));
}

TEST_F(VeshmAttachErrors, EinvalAttachKind) {
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, PCI));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA | VEMVA));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA | VE_MEM_LOCAL));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA | 0x100));
}

TEST_F(VeshmAttachErrors, EinvalSyncnum) {
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA, nullptr, 1));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA, nullptr, -1));
}

TEST_F(VeshmAttachErrors, EinvalSizeOrAlignment) {
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, 0, PCI | VEHVA));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, 4096, PCI | VEHVA));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, offset(area, 4096), kPage, PCI | VEHVA));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, 4096, PCI | VEMVA));
}

TEST_F(VeshmAttachErrors, EinvalMemLocalOfAnotherProcess) {
    EXPECT_EQ(EINVAL, attach_error(attacher, owner_pid, area, kPage, VE_MEM_LOCAL));
}

TEST_F(VeshmAttachErrors, EfaultNullAddress) {
    EXPECT_EQ(EFAULT, attach_error(attacher, owner_pid, nullptr, kPage, PCI | VEHVA));
    EXPECT_EQ(EFAULT, attach_error(attacher, owner_pid, nullptr, kPage, PCI | VEMVA));
}

TEST_F(VeshmAttachErrors, EfaultMemLocalNotAllocated) {
    EXPECT_EQ(EFAULT,
              attach_error(owner, owner_pid, offset(area, 16 * kPage), kPage, VE_MEM_LOCAL));
    EXPECT_EQ(EFAULT, attach_error(owner, owner_pid, area, 4 * kPage, VE_MEM_LOCAL));
}

TEST_F(VeshmAttachErrors, EsrchNoSuchVeProcess) {
    // This test process is a VH process, not a VE process.
    EXPECT_EQ(ESRCH, attach_error(attacher, getpid(), area, kPage, PCI | VEHVA));
    EXPECT_EQ(ESRCH, attach_error(attacher, 0, area, kPage, PCI | VEHVA));
    EXPECT_EQ(ESRCH, attach_error(attacher, -1, area, kPage, PCI | VEHVA));
}

TEST_F(VeshmAttachErrors, EsrchOwnerGone) {
    VeProcess other(1);
    ASSERT_NE(nullptr, other.h);
    void *theirs = alloc_ve(other, kPage);
    ASSERT_NE(nullptr, theirs);
    ASSERT_EQ(0, open_error(theirs, kPage, PCI));
    pid_t pid = other.pid();
    other.reset();
    EXPECT_EQ(ESRCH, attach_error(attacher, pid, theirs, kPage, PCI | VEHVA));
}

TEST_F(VeshmAttachErrors, EsrchVemvaAcrossNodes) {
    VeProcess far(1);
    ASSERT_NE(nullptr, far.h);
    EXPECT_EQ(ESRCH, attach_error(far, owner_pid, area, kPage, PCI | VEMVA));
    // Across nodes is what VEHVA is for.
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(far, owner_pid, area, kPage, PCI | VEHVA, &at));
    EXPECT_EQ(0, detach_error(far, at, VEHVA));
}

TEST_F(VeshmAttachErrors, EnoentNoMatchingArea) {
    EXPECT_EQ(ENOENT, attach_error(attacher, owner_pid, offset(area, kPage), kPage, PCI | VEHVA));
    EXPECT_EQ(ENOENT, attach_error(attacher, owner_pid, area, 2 * kPage, PCI | VEHVA));
    EXPECT_EQ(ENOENT, attach_error(attacher, owner_pid, area, kPage, PCI | VE_SHM_RO | VEHVA));
    EXPECT_EQ(ENOENT, attach_error(attacher, owner_pid, area, kPage, NONE | VEMVA));
    EXPECT_EQ(ENOENT, attach_error(attacher, owner_pid, area, kPage, PCI | VE_PCISYNC | VEHVA));
}

TEST_F(VeshmAttachErrors, EaccesVehvaOfUnregisteredArea) {
    void *second = offset(area, kPage);
    ASSERT_EQ(0, open_error(second, kPage, NONE));
    // VE_REGISTER_NONE: no PCIATB entry, so no DMA from anywhere.
    EXPECT_EQ(EACCES, attach_error(attacher, owner_pid, second, kPage, NONE | VEHVA));
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, second, kPage, NONE | VEMVA, &at));
    EXPECT_EQ(0, detach_error(attacher, at, VEMVA));
    EXPECT_EQ(0, close_error(second, kPage, NONE));
}

TEST_F(VeshmAttachErrors, EagainOwnerSwappedOut) {
    ASSERT_EQ(0, veo_emu_proc_swap_out(owner));
    EXPECT_EQ(EAGAIN, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA));
    EXPECT_EQ(EAGAIN, attach_error(attacher, owner_pid, area, kPage, PCI | VEMVA));
    ASSERT_EQ(0, veo_emu_proc_swap_in(owner));
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA, &at));
    EXPECT_EQ(0, detach_error(attacher, at, VEHVA));
}

TEST_F(VeshmAttachErrors, EbusyVemvaOwnVeProcessGone) {
    kill_helper(attacher);
    EXPECT_EQ(EBUSY, attach_error(attacher, owner_pid, area, kPage, PCI | VEMVA));
}

TEST_F(VeshmAttachErrors, EbusyVehvaOwnVeProcessGone) {
    kill_helper(attacher);
    EXPECT_EQ(EBUSY, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA));
}

TEST_F(VeshmAttachErrors, MemLocalRegistersOwnMemory) {
    void *vehva = nullptr;
    ASSERT_EQ(0, attach_error(owner, owner_pid, area, kPage, VE_MEM_LOCAL, &vehva));
    EXPECT_EQ(0, veo_is_ve_addr(vehva));
    EXPECT_EQ(ECANCELED, detach_error(owner, vehva, VEHVA)); // wrong kind
    EXPECT_EQ(0, detach_error(owner, vehva, VE_MEM_LOCAL));
}

// --- veo_shared_mem_detach -------------------------------------------------

TEST_F(VeshmAttachErrors, DetachEinval) {
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA, &at));
    EXPECT_EQ(EINVAL, detach_error(nullptr, at, VEHVA));
    EXPECT_EQ(EINVAL, detach_error(attacher, at, 0));
    EXPECT_EQ(EINVAL, detach_error(attacher, at, PCI | VEHVA));
    EXPECT_EQ(EINVAL, detach_error(attacher, at, VEHVA | VEMVA));
    EXPECT_EQ(0, detach_error(attacher, at, VEHVA));
}

TEST_F(VeshmAttachErrors, DetachEcanceledNotAttached) {
    void *vehva = nullptr, *hmem = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA, &vehva));
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, PCI | VEMVA, &hmem));
    EXPECT_EQ(ECANCELED, detach_error(attacher, offset(vehva, 4096), VEHVA));
    EXPECT_EQ(ECANCELED, detach_error(attacher, vehva, VEMVA));
    EXPECT_EQ(ECANCELED, detach_error(attacher, vehva, VE_MEM_LOCAL));
    EXPECT_EQ(ECANCELED, detach_error(attacher, hmem, VEHVA));
    EXPECT_EQ(ECANCELED, detach_error(attacher, offset(hmem, 4096), VEMVA));
    EXPECT_EQ(ECANCELED, detach_error(owner, hmem, VEMVA));    // another process's attachment
    EXPECT_EQ(ECANCELED, detach_error(attacher, area, VEMVA)); // memory, not an attachment
    EXPECT_EQ(0, detach_error(attacher, vehva, VEHVA));
    EXPECT_EQ(0, detach_error(attacher, hmem, VEMVA));
    EXPECT_EQ(ECANCELED, detach_error(attacher, vehva, VEHVA)); // twice
    EXPECT_EQ(ECANCELED, detach_error(attacher, hmem, VEMVA));
}

TEST_F(VeshmAttachErrors, DetachEbusyVeProcessGone) {
    void *vehva = nullptr, *hmem = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, PCI | VEHVA, &vehva));
    ASSERT_EQ(0, attach_error(attacher, owner_pid, area, kPage, PCI | VEMVA, &hmem));
    kill_helper(attacher);
    EXPECT_EQ(EBUSY, detach_error(attacher, hmem, VEMVA));
    EXPECT_EQ(EBUSY, detach_error(attacher, vehva, VEHVA));
}

} // namespace
} // namespace veshm_test
