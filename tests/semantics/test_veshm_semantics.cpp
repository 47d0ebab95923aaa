// Decisions the VESHM specification (docs/VESHM_SPEC.md) leaves open and this emulation makes,
// pinned down so they do not change by accident (README "VESHM errors").
#include <ve_offload.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <vector>

namespace {

constexpr size_t kPage = 64UL << 20;

struct Proc {
    explicit Proc(int node) : h(veo_proc_create(node)) {}
    ~Proc() { veo_proc_destroy(h); }
    veo_proc_handle *h;
};

// VE memory is mapped a whole VE page at a time: a page that any allocation
// touches can be shared and put into the DMAATB as a whole.
TEST(VeshmSemantics, AreasArePageGranular) {
    Proc p(0);
    void *page = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(p.h, &page, kPage, 4096)); // 4 KiB used of the page
    EXPECT_EQ(0, veo_shared_mem_open(page, kPage, 0, VE_REGISTER_NONE));
    EXPECT_EQ(0, veo_shared_mem_close(page, kPage, 0, VE_REGISTER_NONE));
    uint64_t vehva = veo_register_mem_to_dmaatb(page, kPage);
    ASSERT_NE((uint64_t)-1, vehva);
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(p.h, vehva));

    // The next page holds nothing: not mapped, so not shareable.
    void *next = (char *)page + kPage;
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_open(next, kPage, 0, VE_REGISTER_NONE));
    EXPECT_EQ(ENOMEM, errno);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(next, kPage));
    EXPECT_EQ(EFAULT, errno);
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_open(page, 2 * kPage, 0, VE_REGISTER_NONE));
    EXPECT_EQ(ENOMEM, errno);
}

// The same four values cannot be opened twice; other flags on the same
// memory make another area.
TEST(VeshmSemantics, DuplicateOpenIsInvalidOtherFlagsAreAnotherArea) {
    Proc p(0);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(p.h, &mem, kPage, kPage));
    ASSERT_EQ(0, veo_shared_mem_open(mem, kPage, 0, VE_REGISTER_PCI));
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_open(mem, kPage, 0, VE_REGISTER_PCI));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(0, veo_shared_mem_open(mem, kPage, 0, VE_REGISTER_PCI | VE_SHM_RO));
    EXPECT_EQ(0, veo_shared_mem_close(mem, kPage, 0, VE_REGISTER_PCI | VE_SHM_RO));
    EXPECT_EQ(0, veo_shared_mem_close(mem, kPage, 0, VE_REGISTER_PCI));
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_close(mem, kPage, 0, VE_REGISTER_PCI));
    EXPECT_EQ(EINVAL, errno);
}

// An attach names the area by its open flags; a page-aligned part of an area
// can be attached on its own; attachments outlive the area's close.
TEST(VeshmSemantics, AttachPartsAndAfterClose) {
    Proc owner(0), attacher(1);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(owner.h, &mem, kPage, 2 * kPage));
    std::vector<char> pattern(kPage);
    for (size_t i = 0; i < kPage; ++i)
        pattern[i] = (char)(i ^ (i >> 9));
    ASSERT_EQ(0, veo_hmemcpy((char *)mem + kPage, pattern.data(), kPage));
    ASSERT_EQ(0, veo_shared_mem_open(mem, 2 * kPage, 0, VE_REGISTER_PCI));
    pid_t pid = veo_get_pid_from_hmem(mem);
    errno = 0;
    EXPECT_EQ((void *)-1, veo_shared_mem_attach(attacher.h, pid, mem, 2 * kPage, 0,
                                                VE_REGISTER_PCI | VE_SHM_RO | VE_REGISTER_VEHVA));
    EXPECT_EQ(ENOENT, errno);
    void *second = veo_shared_mem_attach(attacher.h, pid, (char *)mem + kPage, kPage, 0,
                                         VE_REGISTER_PCI | VE_REGISTER_VEHVA);
    ASSERT_NE((void *)-1, second);
    ASSERT_EQ(0, veo_shared_mem_close(mem, 2 * kPage, 0, VE_REGISTER_PCI));
    errno = 0;
    EXPECT_EQ((void *)-1, veo_shared_mem_attach(attacher.h, pid, mem, 2 * kPage, 0,
                                                VE_REGISTER_PCI | VE_REGISTER_VEHVA));
    EXPECT_EQ(ENOENT, errno);

    void *local = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(attacher.h, &local, kPage, kPage));
    uint64_t local_vehva = veo_register_mem_to_dmaatb(local, kPage);
    ASSERT_NE((uint64_t)-1, local_vehva);
    ASSERT_EQ(0, veo_dma_post_wait(attacher.h, local_vehva, (uint64_t)second, (int)(kPage - 4)));
    std::vector<char> back(kPage);
    ASSERT_EQ(0, veo_hmemcpy(back.data(), local, kPage - 4));
    EXPECT_EQ(0, memcmp(back.data(), pattern.data(), kPage - 4));
    EXPECT_EQ(0, veo_shared_mem_detach(attacher.h, second, VE_REGISTER_VEHVA));
}

} // namespace
