// Resource exhaustion: filling a VE process's PCIATB, DMAATB, DMA descriptor
// ring and VE memory gives the documented errors (README "VESHM errors",
// veo_vedma.h, ve_offload.h), a refused request changes nothing, other VE
// processes are not affected, and after the resources are released the full
// capacity is there again, cycle after cycle, with data intact. The
// single-step cases (one entry too many, one freed) are in
// tests/core/test_small_tables.cpp; these fill to the brim and drain again.
//
// The platform is made small in main(): configuration is read once per
// process and VE processes inherit it.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"

#include <cstdlib>
#include <vector>

namespace veshm_test {
namespace {

constexpr long long PCI = VE_REGISTER_PCI;
constexpr uint32_t kPciatb = 4, kDmaatb = 6, kRing = 8, kMemPages = 8;
constexpr int kCycles = 3;

class Exhaustion : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, owner.h);
        ASSERT_NE(nullptr, other.h);
        veo_emu_node_info info{};
        ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
        ASSERT_EQ(kPciatb, info.pciatb_entries);
        ASSERT_EQ(kDmaatb, info.dmaatb_entries);
        ASSERT_EQ(kRing, info.dma_descriptors);
        ASSERT_EQ(kMemPages * kPage, info.memory_size);
    }

    VeProcess owner{0};
    VeProcess other{1};
};

TEST_F(Exhaustion, PciatbFillsToCapacityAndRecovers) {
    void *mem = alloc_ve(owner, (kPciatb + 1) * kPage);
    ASSERT_NE(nullptr, mem);
    auto page = [&](uint32_t i) { return offset(mem, (uint64_t)i * kPage); };
    fill_pattern(host_of(mem), (kPciatb + 1) * kPage, 7, 0);
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        SCOPED_TRACE("cycle " + std::to_string(cycle));
        for (uint32_t i = 0; i < kPciatb; ++i)
            ASSERT_EQ(0, open_error(page(i), kPage, PCI));
        // Full: every further PCI area is refused, whatever its flags.
        EXPECT_EQ(ENOMEM, open_error(page(kPciatb), kPage, PCI));
        EXPECT_EQ(ENOMEM, open_error(page(kPciatb), kPage, PCI | VE_SHM_RO));
        EXPECT_EQ(ENOMEM, open_error(page(kPciatb), kPage, PCI | VE_PCISYNC));
        // A refused open left nothing open behind it.
        EXPECT_EQ(EINVAL, close_error(page(kPciatb), kPage, PCI));
        EXPECT_EQ(ENOENT,
                  attach_error(other, owner.pid(), page(kPciatb), kPage, PCI | VE_REGISTER_VEHVA));
        // The table is the owner's: another VE process has its own.
        void *theirs = alloc_ve(other, kPage);
        ASSERT_NE(nullptr, theirs);
        EXPECT_EQ(0, open_error(theirs, kPage, PCI));
        EXPECT_EQ(0, close_error(theirs, kPage, PCI));
        EXPECT_EQ(0, veo_free_hmem(theirs));
        // An area closed while attached gives its entry back; the attachment
        // still reads the owner's data.
        void *rv = nullptr;
        ASSERT_EQ(0,
                  attach_error(other, owner.pid(), page(0), kPage, PCI | VE_REGISTER_VEHVA, &rv));
        ASSERT_EQ(0, close_error(page(0), kPage, PCI));
        ASSERT_EQ(0, open_error(page(kPciatb), kPage, PCI));
        void *local = alloc_ve(other, kPage);
        ASSERT_NE(nullptr, local);
        uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
        ASSERT_NE((uint64_t)-1, lv);
        ASSERT_EQ(0, veo_dma_post_wait(other, lv, (uint64_t)rv, 1 << 20));
        EXPECT_EQ(-1, find_mismatch(host_of(local), 1 << 20, 7, 0));
        EXPECT_EQ(0, detach_error(other, rv, VE_REGISTER_VEHVA));
        EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(other, lv));
        EXPECT_EQ(0, veo_free_hmem(local));
        // Release everything: the next cycle must find the whole table free.
        for (uint32_t i = 1; i <= kPciatb; ++i)
            ASSERT_EQ(0, close_error(page(i), kPage, PCI));
    }
    // All of it in one area now fits, and one page more does not.
    EXPECT_EQ(ENOMEM, open_error(mem, (kPciatb + 1) * kPage, PCI));
    EXPECT_EQ(0, open_error(mem, kPciatb * kPage, PCI));
    EXPECT_EQ(0, close_error(mem, kPciatb * kPage, PCI));
    EXPECT_EQ(-1, find_mismatch(host_of(mem), (kPciatb + 1) * kPage, 7, 0));
}

TEST_F(Exhaustion, DmaatbFilledByAttachmentsRecovers) {
    void *area = alloc_ve(owner, 2 * kPage);
    ASSERT_NE(nullptr, area);
    fill_pattern(host_of(area), 2 * kPage, 11, 0);
    ASSERT_EQ(0, open_error(area, 2 * kPage, PCI));
    void *local = alloc_ve(other, kPage);
    ASSERT_NE(nullptr, local);
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        SCOPED_TRACE("cycle " + std::to_string(cycle));
        // One page for own memory, the rest with attachments of one page, and
        // one two-page attachment that no longer fits.
        uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
        ASSERT_NE((uint64_t)-1, lv);
        std::vector<void *> at;
        for (uint32_t i = 1; i < kDmaatb; ++i) {
            void *rv = nullptr;
            ASSERT_EQ(0, attach_error(other, owner.pid(), offset(area, (i % 2) * kPage), kPage,
                                      PCI | VE_REGISTER_VEHVA, &rv));
            at.push_back(rv);
        }
        EXPECT_EQ(ENOMEM, attach_error(other, owner.pid(), area, kPage, PCI | VE_REGISTER_VEHVA));
        errno = 0;
        EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(local, kPage));
        EXPECT_EQ(ENOMEM, errno);
        // A refused attach is not counted by the owner.
        EXPECT_EQ((int)at.size(), attachments_of(owner.pid()));
        // Every attachment works while the table is full.
        for (size_t i = 0; i < at.size(); ++i) {
            uint64_t off = ((i + 1) % 2) * kPage + 4096 * i;
            ASSERT_EQ(0, veo_dma_post_wait(other, lv, (uint64_t)at[i] + 4096 * i, 64 << 10));
            EXPECT_EQ(-1, find_mismatch(host_of(local), 64 << 10, 11, off)) << "attachment " << i;
        }
        // The owner's DMAATB is its own: it can still attach its own area.
        void *own = nullptr;
        ASSERT_EQ(0,
                  attach_error(owner, owner.pid(), area, 2 * kPage, PCI | VE_REGISTER_VEHVA, &own));
        EXPECT_EQ(0, detach_error(owner, own, VE_REGISTER_VEHVA));
        // Release, in the reverse order of attaching.
        for (size_t i = at.size(); i-- > 0;)
            ASSERT_EQ(0, detach_error(other, at[i], VE_REGISTER_VEHVA));
        ASSERT_EQ(0, veo_unregister_mem_from_dmaatb(other, lv));
        EXPECT_EQ(0, attachments_of(owner.pid()));
        // The whole table in one attachment of kDmaatb pages is not possible
        // (the area has two), but three two-page attachments fill it exactly.
        std::vector<void *> big;
        for (uint32_t i = 0; i < kDmaatb / 2; ++i) {
            void *rv = nullptr;
            ASSERT_EQ(
                0, attach_error(other, owner.pid(), area, 2 * kPage, PCI | VE_REGISTER_VEHVA, &rv));
            big.push_back(rv);
        }
        EXPECT_EQ(ENOMEM, attach_error(other, owner.pid(), area, kPage, PCI | VE_REGISTER_VEHVA));
        for (void *rv : big)
            ASSERT_EQ(0, detach_error(other, rv, VE_REGISTER_VEHVA));
    }
    // Destroying the attaching VE process releases what it still holds.
    void *rv = nullptr;
    ASSERT_EQ(0, attach_error(other, owner.pid(), area, 2 * kPage, PCI | VE_REGISTER_VEHVA, &rv));
    EXPECT_EQ(1, attachments_of(owner.pid()));
    other.reset();
    EXPECT_EQ(0, attachments_of(owner.pid()));
    EXPECT_EQ(0, close_error(area, 2 * kPage, PCI));
}

// Areas come and go as MPI windows do (created, attached by a peer, freed),
// many times more than the attacher's DMAATB holds at once: every detach, and
// every close of an area still attached, gives the entry back, so a program
// that frees what it attached never runs out (a leak of one entry per area
// fails within kDmaatb rounds).
TEST_F(Exhaustion, ManyAreasAttachedAndFreedNeverRunOut) {
    for (uint32_t i = 0; i < 4 * kDmaatb; ++i) {
        SCOPED_TRACE("area " + std::to_string(i));
        void *area = alloc_ve(owner, kPage);
        ASSERT_NE(nullptr, area);
        ASSERT_EQ(0, open_error(area, kPage, PCI));
        void *rv = nullptr;
        ASSERT_EQ(0, attach_error(other, owner.pid(), area, kPage, PCI | VE_REGISTER_VEHVA, &rv));
        if (i % 2 == 0) {
            ASSERT_EQ(0, detach_error(other, rv, VE_REGISTER_VEHVA));
            ASSERT_EQ(0, close_error(area, kPage, PCI));
        } else {
            // The owner frees its window first; the peer lets go later.
            ASSERT_EQ(0, close_error(area, kPage, PCI));
            ASSERT_EQ(0, detach_error(other, rv, VE_REGISTER_VEHVA));
        }
        ASSERT_EQ(0, veo_free_hmem(area));
    }
    EXPECT_EQ(0, attachments_of(owner.pid()));
    // And the whole table is still there.
    void *area = alloc_ve(owner, kPage);
    ASSERT_NE(nullptr, area);
    ASSERT_EQ(0, open_error(area, kPage, PCI));
    std::vector<void *> at;
    for (uint32_t i = 0; i < kDmaatb; ++i) {
        void *rv = nullptr;
        ASSERT_EQ(0, attach_error(other, owner.pid(), area, kPage, PCI | VE_REGISTER_VEHVA, &rv));
        at.push_back(rv);
    }
    EXPECT_EQ(ENOMEM, attach_error(other, owner.pid(), area, kPage, PCI | VE_REGISTER_VEHVA));
    for (void *rv : at)
        ASSERT_EQ(0, detach_error(other, rv, VE_REGISTER_VEHVA));
    EXPECT_EQ(0, close_error(area, kPage, PCI));
    ASSERT_EQ(0, veo_free_hmem(area));
}

TEST_F(Exhaustion, DmaRingFullGivesEagainAndRecovers) {
    void *mem = alloc_ve(owner, 2 * kPage);
    ASSERT_NE(nullptr, mem);
    uint64_t v = veo_register_mem_to_dmaatb(mem, 2 * kPage);
    ASSERT_NE((uint64_t)-1, v);
    uint8_t *host = host_of(mem);
    constexpr int kLen = 1 << 20; // above the inline limit: the copies run behind the post
    fill_pattern(host, kRing * (uint64_t)kLen, 21, 0);
    void *their_mem = alloc_ve(other, kPage);
    ASSERT_NE(nullptr, their_mem);
    uint64_t tv = veo_register_mem_to_dmaatb(their_mem, kPage);
    ASSERT_NE((uint64_t)-1, tv);
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        SCOPED_TRACE("cycle " + std::to_string(cycle));
        memset(host + kPage, 0, kRing * (uint64_t)kLen);
        std::vector<ve_dma_handle_t> h(kRing + 1);
        // The last descriptor of the ring carries a transfer that faults: it
        // takes and gives back its descriptor like any other.
        for (uint32_t i = 0; i + 1 < kRing; ++i)
            ASSERT_EQ(0, veo_dma_post(owner, v + kPage + i * (uint64_t)kLen, v + i * (uint64_t)kLen,
                                      kLen, &h[i]));
        ASSERT_EQ(0, veo_dma_post(owner, v + kPage, 4096, kLen, &h[kRing - 1]));
        // Full: post and post_wait refuse, and the refusal takes nothing.
        EXPECT_EQ(-EAGAIN, veo_dma_post(owner, v + kPage, v, 4096, &h[kRing]));
        EXPECT_EQ(-EAGAIN, veo_dma_post_wait(owner, v + kPage, v, 4096));
        // Another VE process has a ring of its own.
        EXPECT_EQ(0, veo_dma_post_wait(other, tv + 4096, tv, 4096));
        for (uint32_t i = 0; i < kRing; ++i) {
            int rc;
            while ((rc = veo_dma_poll(owner, &h[i])) == -EAGAIN) {
            }
            if (i + 1 < kRing)
                EXPECT_EQ(0, rc) << "descriptor " << i;
            else
                EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, rc);
            // A result is handed out once: the descriptor is free again.
            EXPECT_EQ(-EINVAL, veo_dma_poll(owner, &h[i]));
        }
        EXPECT_EQ(-1, find_mismatch(host + kPage, (kRing - 1) * (uint64_t)kLen, 21, 0));
        // The whole ring is free: kRing waits in a row, then kRing posts.
        for (uint32_t i = 0; i < kRing; ++i)
            ASSERT_EQ(0, veo_dma_post_wait(owner, v + kPage, v, 4096));
    }
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(other, tv));
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(owner, v));
}

TEST_F(Exhaustion, VeMemoryExhaustedThenRecovered) {
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        SCOPED_TRACE("cycle " + std::to_string(cycle));
        // Every VE page, by each allocation call in turn.
        std::vector<void *> hmem;
        std::vector<uint64_t> addrs;
        for (uint32_t i = 0; i < kMemPages; ++i) {
            if (i % 3 == 0) {
                void *p = nullptr;
                ASSERT_EQ(0, veo_alloc_hmem(owner, &p, kPage)) << "page " << i;
                hmem.push_back(p);
            } else if (i % 3 == 1) {
                hmem.push_back(alloc_ve(owner, kPage));
                ASSERT_NE(nullptr, hmem.back()) << "page " << i;
            } else {
                uint64_t a = 0;
                ASSERT_EQ(0, veo_alloc_mem(owner, &a, kPage)) << "page " << i;
                addrs.push_back(a);
            }
        }
        for (void *p : hmem)
            fill_pattern(host_of(p), 4096, (uint64_t)p, 0);
        // Full: every allocation call fails as documented, small ones too.
        void *p = nullptr;
        uint64_t a = 0;
        errno = 0;
        EXPECT_EQ(-1, veo_alloc_hmem(owner, &p, kPage));
        EXPECT_EQ(ENOMEM, errno);
        errno = 0;
        EXPECT_EQ(-1, veo_alloc_mem(owner, &a, 64));
        EXPECT_EQ(ENOMEM, errno);
        EXPECT_EQ(ENOMEM, veo_posix_memalign_hmem(owner, &p, 4096, 4096));
        // What was allocated before is intact and usable for VESHM.
        for (void *q : hmem)
            EXPECT_EQ(-1, find_mismatch(host_of(q), 4096, (uint64_t)q, 0));
        EXPECT_EQ(0, open_error(hmem[0], kPage, PCI));
        void *rv = nullptr;
        ASSERT_EQ(0,
                  attach_error(other, owner.pid(), hmem[0], kPage, PCI | VE_REGISTER_VEHVA, &rv));
        // The memory is the VE process's: another one allocates as before.
        void *theirs = alloc_ve(other, kPage);
        ASSERT_NE(nullptr, theirs);
        uint64_t tv = veo_register_mem_to_dmaatb(theirs, kPage);
        ASSERT_NE((uint64_t)-1, tv);
        ASSERT_EQ(0, veo_dma_post_wait(other, tv, (uint64_t)rv, 4096));
        EXPECT_EQ(-1, find_mismatch(host_of(theirs), 4096, (uint64_t)hmem[0], 0));
        EXPECT_EQ(0, detach_error(other, rv, VE_REGISTER_VEHVA));
        EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(other, tv));
        EXPECT_EQ(0, veo_free_hmem(theirs));
        EXPECT_EQ(0, close_error(hmem[0], kPage, PCI));
        // Free everything: then the whole memory is one block again.
        for (void *q : hmem)
            ASSERT_EQ(0, veo_free_hmem(q));
        for (uint64_t q : addrs)
            ASSERT_EQ(0, veo_free_mem(owner, q));
        void *all = nullptr;
        ASSERT_EQ(0, veo_alloc_hmem(owner, &all, kMemPages * kPage));
        errno = 0;
        EXPECT_EQ(-1, veo_alloc_hmem(owner, &p, 64));
        EXPECT_EQ(ENOMEM, errno);
        ASSERT_EQ(0, veo_free_hmem(all));
        // And small blocks fill it too, then all go back.
        std::vector<void *> small;
        for (;;) {
            void *q = nullptr;
            if (veo_alloc_hmem(owner, &q, 16 * MiB) != 0)
                break;
            small.push_back(q);
            ASSERT_LE(small.size(), (size_t)kMemPages * 4) << "more memory than configured";
        }
        EXPECT_EQ(ENOMEM, errno);
        EXPECT_GE(small.size(), (size_t)kMemPages);
        for (void *q : small)
            ASSERT_EQ(0, veo_free_hmem(q));
    }
}

} // namespace
} // namespace veshm_test

int main(int argc, char **argv) {
    // Before anything reads the configuration; VE processes inherit it.
    setenv("VESHM_PCIATB_ENTRIES", "4", 1);
    setenv("VESHM_DMAATB_ENTRIES", "6", 1);
    setenv("VESHM_DMA_DESCRIPTORS", "8", 1);
    setenv("VESHM_MEMORY_SIZE", "512M", 1);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
