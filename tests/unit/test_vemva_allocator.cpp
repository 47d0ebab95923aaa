// VemvaAllocator in process: first fit, alignment, coalescing, lookups.
#include "lib/memory/vemva_allocator.hpp"

#include <gtest/gtest.h>

namespace veo::emu {
namespace {

constexpr uint64_t kBase = 0x100000, kSize = 0x100000, kPage = 0x1000;

TEST(VemvaAllocator, FirstFitAlignedAndExhausted) {
    VemvaAllocator a(kBase, kSize);
    uint64_t x = a.allocate(0x100, 0x10);
    EXPECT_EQ(kBase, x);
    uint64_t y = a.allocate(0x1000, 0x10000);
    EXPECT_EQ(kBase + 0x10000, y) << "aligned to 64 KiB";
    EXPECT_EQ(0x1100u, a.bytes_in_use());
    EXPECT_EQ(0u, a.allocate(kSize, kPage)) << "does not fit any more";
    EXPECT_EQ(0u, a.allocate(0, kPage)) << "nothing to allocate";
}

TEST(VemvaAllocator, ReleaseCoalescesSoTheWholeRangeFitsAgain) {
    VemvaAllocator a(kBase, kSize);
    uint64_t blocks[4];
    for (uint64_t &b : blocks)
        ASSERT_NE(0u, b = a.allocate(kSize / 4, kPage));
    EXPECT_EQ(0u, a.allocate(kPage, kPage));
    for (int i : {1, 3, 0, 2})
        EXPECT_EQ(kSize / 4, a.release(blocks[i]));
    EXPECT_EQ(0u, a.bytes_in_use());
    EXPECT_EQ(kBase, a.allocate(kSize, kPage)) << "free ranges were not merged";
}

TEST(VemvaAllocator, ReleaseOfAnythingButABlockStartChangesNothing) {
    VemvaAllocator a(kBase, kSize);
    uint64_t x = a.allocate(2 * kPage, kPage);
    EXPECT_EQ(0u, a.release(x + kPage));
    EXPECT_EQ(0u, a.release(kBase + kSize));
    EXPECT_EQ(2 * kPage, a.bytes_in_use());
    EXPECT_EQ(2 * kPage, a.release(x));
    EXPECT_EQ(0u, a.release(x)) << "released twice";
}

TEST(VemvaAllocator, FindAndPagesInUse) {
    VemvaAllocator a(kBase, kSize);
    uint64_t x = a.allocate(0x100, kPage);
    uint64_t start = 0, size = 0;
    ASSERT_TRUE(a.find(x + 0x10, 0x20, &start, &size));
    EXPECT_EQ(x, start);
    EXPECT_EQ(0x100u, size);
    EXPECT_FALSE(a.find(x + 0xf0, 0x20, &start, &size)) << "runs past the block";
    // The page the small block is in counts as mapped; the next does not.
    EXPECT_TRUE(a.pages_in_use(x, kPage, kPage));
    EXPECT_FALSE(a.pages_in_use(x, 2 * kPage, kPage));
}

} // namespace
} // namespace veo::emu
