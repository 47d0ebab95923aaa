// Dmaatb in process: VEHVA to host translation, protection, missing space,
// capacity and removal by kind.
#include "lib/dma/dmaatb.hpp"

#include "veo_vedma.h"

#include <gtest/gtest.h>
#include <vector>

namespace veo::emu {
namespace {

constexpr uint64_t kPage = 2 << 20;

DmaatbEntry entry(uint8_t *host, uint64_t size, bool writable, DmaatbKind kind) {
    DmaatbEntry e;
    e.host = host;
    e.size = size;
    e.writable = writable;
    e.kind = kind;
    return e;
}

TEST(Dmaatb, TranslatesInsideAnEntryOnly) {
    std::vector<uint8_t> mem(2 * kPage);
    Dmaatb atb(8, kPage);
    uint64_t v = atb.insert(entry(mem.data(), mem.size(), true, DmaatbKind::local));
    ASSERT_NE(0u, v);
    uint8_t *host = nullptr;
    EXPECT_EQ(0, atb.translate(v + 100, 400, true, &host));
    EXPECT_EQ(mem.data() + 100, host);
    EXPECT_EQ(0, atb.translate(v, mem.size(), false, &host));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, atb.translate(v + mem.size() - 4, 8, false, &host))
        << "runs past the entry";
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, atb.translate(v - 4, 4, false, &host));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, atb.translate(0, 4, false, &host));
}

TEST(Dmaatb, ReadOnlyEntriesRefuseWrites) {
    std::vector<uint8_t> mem(kPage);
    Dmaatb atb(8, kPage);
    uint64_t v = atb.insert(entry(mem.data(), mem.size(), false, DmaatbKind::attachment));
    ASSERT_NE(0u, v);
    uint8_t *host = nullptr;
    EXPECT_EQ(0, atb.translate(v, 64, false, &host));
    EXPECT_EQ(VE_DMA_EXC_PROTECTION, atb.translate(v, 64, true, &host));
    EXPECT_EQ(1u, atb.remote_entries());
}

TEST(Dmaatb, CapacityInPagesAndRemovalByKind) {
    std::vector<uint8_t> mem(3 * kPage);
    Dmaatb atb(4, kPage);
    uint64_t a = atb.insert(entry(mem.data(), 3 * kPage, true, DmaatbKind::local));
    ASSERT_NE(0u, a);
    EXPECT_EQ(3u, atb.pages_used());
    EXPECT_EQ(0u, atb.insert(entry(mem.data(), 2 * kPage, true, DmaatbKind::local)))
        << "5 pages in a DMAATB of 4";
    uint64_t b = atb.insert(entry(mem.data(), kPage, true, DmaatbKind::vh));
    ASSERT_NE(0u, b);
    DmaatbEntry out;
    EXPECT_FALSE(atb.remove(a, DmaatbKind::vh, &out)) << "wrong kind";
    EXPECT_TRUE(atb.remove(a, DmaatbKind::local, &out));
    EXPECT_EQ(mem.data(), out.host);
    EXPECT_FALSE(atb.remove(a, DmaatbKind::local, &out)) << "removed twice";
    uint8_t *host = nullptr;
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, atb.translate(a, 4, false, &host));
    EXPECT_EQ(1u, atb.pages_used());
    EXPECT_EQ(1u, atb.drain().size());
    EXPECT_EQ(0u, atb.pages_used());
}

} // namespace
} // namespace veo::emu
