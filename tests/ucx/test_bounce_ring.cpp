// The bounce ring of the veshm transport (ucx_tl_veshm/veshm_bounce.h), in
// process: allocation order, alignment, wrap-around, exhaustion and release.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

extern "C" {
#include "veshm_bounce.h"
}

namespace {

struct Ring {
    std::vector<uint8_t> mem;
    uct_veshm_bounce_t b{};
    explicit Ring(size_t size) : mem(size) {
        b.host = mem.data();
        b.vehva = 0x1000000;
        b.size = size;
        uct_veshm_bounce_reset(&b);
    }
    size_t off(const uint8_t *p) const { return static_cast<size_t>(p - mem.data()); }
};

} // namespace

TEST(BounceRing, AllocatesInOrderAndHonoursTheAddressModulo4) {
    Ring r(1024);
    uint8_t *a = uct_veshm_bounce_alloc(&r.b, 10, 0);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(r.off(a), 0u);
    uint8_t *b = uct_veshm_bounce_alloc(&r.b, 8, 3);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(r.off(b) % 4, 3u);
    EXPECT_GE(r.off(b), 10u);
    EXPECT_EQ(uct_veshm_bounce_vehva(&r.b, b), r.b.vehva + r.off(b));
}

TEST(BounceRing, RefusesWhatDoesNotFitUntilReleased) {
    Ring r(256);
    uint8_t *a = uct_veshm_bounce_alloc(&r.b, 200, 0);
    ASSERT_NE(a, nullptr);
    uint64_t end_a = r.b.head;
    EXPECT_EQ(uct_veshm_bounce_alloc(&r.b, 100, 0), nullptr);
    EXPECT_EQ(uct_veshm_bounce_alloc(&r.b, 257, 0), nullptr); // larger than the ring
    uct_veshm_bounce_release(&r.b, end_a);
    // The end of the ring cannot hold 100 contiguous bytes: it wraps to 0.
    uint8_t *b = uct_veshm_bounce_alloc(&r.b, 100, 0);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(r.off(b), 0u);
}

TEST(BounceRing, WrapDoesNotOvertakeTheTail) {
    Ring r(256);
    ASSERT_NE(uct_veshm_bounce_alloc(&r.b, 100, 0), nullptr);
    uint64_t end_first = r.b.head;
    ASSERT_NE(uct_veshm_bounce_alloc(&r.b, 100, 0), nullptr);
    uct_veshm_bounce_release(&r.b, end_first); // [0,100) free, [100,200) held
    // 100 bytes do not fit after 200; at 0 they fit exactly up to the held part.
    uint8_t *c = uct_veshm_bounce_alloc(&r.b, 100, 0);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(r.off(c), 0u);
    EXPECT_EQ(uct_veshm_bounce_alloc(&r.b, 4, 0), nullptr);
}

TEST(BounceRing, TrimAndRollbackGiveSpaceBack) {
    Ring r(128);
    uct_veshm_bounce_mark_t m = uct_veshm_bounce_mark(&r.b);
    ASSERT_NE(uct_veshm_bounce_alloc(&r.b, 128, 0), nullptr);
    EXPECT_EQ(uct_veshm_bounce_alloc(&r.b, 1, 0), nullptr);
    uct_veshm_bounce_rollback(&r.b, m);
    uint8_t *a = uct_veshm_bounce_alloc(&r.b, 100, 0);
    ASSERT_NE(a, nullptr);
    uct_veshm_bounce_trim(&r.b, 60); // the packer used 40 bytes
    uint8_t *b = uct_veshm_bounce_alloc(&r.b, 80, 0);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(r.off(b), 40u);
}

TEST(BounceRing, ReleaseNeverMovesTheTailBack) {
    Ring r(128);
    ASSERT_NE(uct_veshm_bounce_alloc(&r.b, 64, 0), nullptr);
    uint64_t first = r.b.head;
    ASSERT_NE(uct_veshm_bounce_alloc(&r.b, 32, 0), nullptr);
    uct_veshm_bounce_release(&r.b, r.b.head);
    uct_veshm_bounce_release(&r.b, first); // completes out of order: no effect
    EXPECT_EQ(r.b.tail, r.b.head);
}
