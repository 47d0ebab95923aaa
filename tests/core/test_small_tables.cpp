// Finite PCIATB, DMAATB and descriptor ring: ENOMEM when a table is full,
// -EAGAIN when the ring is. The tables are made small here (configuration is
// read once per process, so this suite is its own executable).
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "vh_segment.hpp"

#include <veo_vhveshm.h>

#include <cstdlib>
#include <vector>

namespace veshm_test {
namespace {

constexpr long long PCI = VE_REGISTER_PCI;

class SmallTables : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, owner.h);
        ASSERT_NE(nullptr, attacher.h);
        veo_emu_node_info info{};
        ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
        ASSERT_EQ(2u, info.pciatb_entries);
        ASSERT_EQ(3u, info.dmaatb_entries);
        ASSERT_EQ(4u, info.dma_descriptors);
        mem = alloc_ve(owner, 4 * kPage);
        ASSERT_NE(nullptr, mem);
    }
    void *page(int i) { return offset(mem, (uint64_t)i * kPage); }

    VeProcess owner{0};
    VeProcess attacher{1};
    void *mem = nullptr;
};

TEST_F(SmallTables, OpenEnomemWhenPciatbFull) {
    ASSERT_EQ(0, open_error(page(0), kPage, PCI));
    ASSERT_EQ(0, open_error(page(1), kPage, PCI));
    EXPECT_EQ(ENOMEM, open_error(page(2), kPage, PCI));
    EXPECT_EQ(ENOMEM, open_error(page(2), 2 * kPage, PCI | VE_SHM_RO));
    // VE_REGISTER_NONE takes no PCIATB entry.
    EXPECT_EQ(0, open_error(page(2), 2 * kPage, VE_REGISTER_NONE));
    // Closing gives the entry back.
    ASSERT_EQ(0, close_error(page(0), kPage, PCI));
    EXPECT_EQ(0, open_error(page(2), kPage, PCI));
    EXPECT_EQ(0, close_error(page(1), kPage, PCI));
    EXPECT_EQ(0, close_error(page(2), kPage, PCI));
    EXPECT_EQ(0, close_error(page(2), 2 * kPage, VE_REGISTER_NONE));
    // An area bigger than the whole table never fits.
    EXPECT_EQ(ENOMEM, open_error(page(0), 3 * kPage, PCI));
}

TEST_F(SmallTables, AttachEnomemWhenDmaatbFull) {
    ASSERT_EQ(0, open_error(page(0), 2 * kPage, PCI));
    void *own = alloc_ve(attacher, 4 * kPage);
    ASSERT_NE(nullptr, own);
    uint64_t l1 = veo_register_mem_to_dmaatb(own, 2 * kPage);
    ASSERT_NE((uint64_t)-1, l1);
    // One entry left, the area needs two.
    EXPECT_EQ(ENOMEM,
              attach_error(attacher, owner.pid(), page(0), 2 * kPage, PCI | VE_REGISTER_VEHVA));
    uint64_t l2 = veo_register_mem_to_dmaatb(offset(own, 2 * kPage), kPage);
    ASSERT_NE((uint64_t)-1, l2);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(offset(own, 3 * kPage), kPage));
    EXPECT_EQ(ENOMEM, errno);
    // VEMVA attachments do not use the DMAATB.
    void *at = nullptr;
    ASSERT_EQ(0,
              attach_error(owner, owner.pid(), page(0), 2 * kPage, PCI | VE_REGISTER_VEMVA, &at));
    EXPECT_EQ(0, detach_error(owner, at, VE_REGISTER_VEMVA));
    // Freeing entries makes room.
    ASSERT_EQ(0, veo_unregister_mem_from_dmaatb(attacher, l1));
    void *rv = nullptr;
    ASSERT_EQ(
        0, attach_error(attacher, owner.pid(), page(0), 2 * kPage, PCI | VE_REGISTER_VEHVA, &rv));
    EXPECT_EQ(ENOMEM,
              attach_error(attacher, owner.pid(), page(0), 2 * kPage, PCI | VE_REGISTER_VEHVA));
    EXPECT_EQ(0, detach_error(attacher, rv, VE_REGISTER_VEHVA));
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(attacher, l2));
    EXPECT_EQ(0, close_error(page(0), 2 * kPage, PCI));
}

TEST_F(SmallTables, ShmatEnomemWhenDmaatbFull) {
    // A segment takes at least one DMAATB entry, however small it is.
    VhSegment seg[4] = {VhSegment(4096), VhSegment(4096), VhSegment(4096), VhSegment(4096)};
    void *at[3] = {}, *vehva = nullptr;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(seg[i].ok());
        at[i] = veo_shmat(owner, seg[i].id(), nullptr, 0, &vehva);
        ASSERT_NE((void *)-1, at[i]) << i;
    }
    ASSERT_TRUE(seg[3].ok());
    errno = 0;
    EXPECT_EQ((void *)-1, veo_shmat(owner, seg[3].id(), nullptr, 0, &vehva));
    EXPECT_EQ(ENOMEM, errno);
    EXPECT_EQ(1, seg[3].attach_count()); // the failed attach left nothing attached
    // Detaching makes room.
    ASSERT_EQ(0, veo_shmdt(owner, at[0]));
    at[0] = veo_shmat(owner, seg[3].id(), nullptr, 0, &vehva);
    ASSERT_NE((void *)-1, at[0]);
    for (void *a : at)
        EXPECT_EQ(0, veo_shmdt(owner, a));
}

TEST_F(SmallTables, RingOfFourDescriptors) {
    uint64_t v = veo_register_mem_to_dmaatb(mem, kPage);
    ASSERT_NE((uint64_t)-1, v);
    ve_dma_handle_t h[5];
    for (int i = 0; i < 4; ++i)
        ASSERT_EQ(0, veo_dma_post(owner, v + 4096 * (i + 1), v, 4096, &h[i]));
    EXPECT_EQ(-EAGAIN, veo_dma_post(owner, v, v + 4096, 4096, &h[4]));
    EXPECT_EQ(0, veo_dma_poll(owner, &h[0]));
    EXPECT_EQ(0, veo_dma_post(owner, v + 8192, v + 4096, 4096, &h[4]));
    for (int i = 1; i < 5; ++i) {
        int rc;
        while ((rc = veo_dma_poll(owner, &h[i])) == -EAGAIN) {
        }
        EXPECT_EQ(0, rc);
    }
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(owner, v));
}

} // namespace
} // namespace veshm_test

int main(int argc, char **argv) {
    // Before anything reads the configuration; VE processes inherit it.
    setenv("VESHM_PCIATB_ENTRIES", "2", 1);
    setenv("VESHM_DMAATB_ENTRIES", "3", 1);
    setenv("VESHM_DMA_DESCRIPTORS", "4", 1);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
