// DmaEngine in process, on a DMAATB of plain host buffers: limits, faults as
// exception bits, a full ring, and asynchronous completion by poll.
#include "lib/dma/dma_engine.hpp"

#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <vector>

namespace veo::emu {
namespace {

constexpr uint64_t kPage = 2 << 20;

class DmaEngineUnit : public testing::Test {
  protected:
    void SetUp() override {
        src.assign(4 * kPage, 0);
        dst.assign(4 * kPage, 0);
        for (size_t i = 0; i < src.size(); ++i)
            src[i] = (uint8_t)(i * 13 + 5);
        vsrc = insert(src.data(), src.size(), false);
        vdst = insert(dst.data(), dst.size(), true);
        ASSERT_NE(0u, vsrc);
        ASSERT_NE(0u, vdst);
    }
    uint64_t insert(uint8_t *host, uint64_t size, bool writable) {
        DmaatbEntry e;
        e.host = host;
        e.size = size;
        e.writable = writable;
        e.kind = DmaatbKind::vh;
        return atb.insert(std::move(e));
    }
    int wait(ve_dma_handle_t *h) {
        int rc;
        while ((rc = engine.poll(h)) == -EAGAIN) {
        }
        return rc;
    }

    Dmaatb atb{64, kPage};
    DmaEngine engine{atb, 4};
    std::vector<uint8_t> src, dst;
    uint64_t vsrc = 0, vdst = 0;
};

TEST_F(DmaEngineUnit, SmallAndLargeTransfersCopyExactly) {
    for (int size : {4, 4096, 1 << 20, 4 << 20}) {
        memset(dst.data(), 0, dst.size());
        ve_dma_handle_t h{};
        ASSERT_EQ(0, engine.post(vdst + 8, vsrc + 4, size, &h)) << size;
        EXPECT_EQ(0, wait(&h)) << size;
        EXPECT_EQ(0, memcmp(dst.data() + 8, src.data() + 4, (size_t)size)) << size;
        EXPECT_EQ(0, dst[8 + size]) << "wrote past the end";
    }
}

TEST_F(DmaEngineUnit, LimitsAreRefusedAtPost) {
    ve_dma_handle_t h{};
    EXPECT_EQ(-EINVAL, engine.post(vdst, vsrc, 6, &h)) << "size not a multiple of 4";
    EXPECT_EQ(-EINVAL, engine.post(vdst + 2, vsrc, 4, &h)) << "misaligned";
    EXPECT_EQ(-EINVAL, engine.post(vdst, vsrc, 0, &h));
    EXPECT_EQ(-EINVAL, engine.post(vdst, vsrc, 128 << 20, &h)) << "128 MiB";
}

TEST_F(DmaEngineUnit, FaultsAreExceptionBitsOfThePoll) {
    ve_dma_handle_t h{};
    ASSERT_EQ(0, engine.post(vsrc, vdst, 64, &h));
    EXPECT_EQ(VE_DMA_EXC_PROTECTION, wait(&h)) << "write into a read-only entry";
    ASSERT_EQ(0, engine.post(vdst, vdst + dst.size(), 64, &h));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, wait(&h)) << "source past the last entry";
}

TEST_F(DmaEngineUnit, AFullRingAnswersEagainUntilPolled) {
    // Each transfer to a destination of its own: the engine thread and the
    // polls copy them at the same time.
    constexpr int kSize = 1 << 20;
    std::vector<ve_dma_handle_t> hs(4);
    for (size_t i = 0; i < hs.size(); ++i)
        ASSERT_EQ(0, engine.post(vdst + i * kSize, vsrc, kSize, &hs[i]));
    ve_dma_handle_t more{};
    EXPECT_EQ(-EAGAIN, engine.post(vdst + 4 * kSize, vsrc, 4, &more)) << "4 descriptors all in use";
    for (auto &h : hs)
        EXPECT_EQ(0, wait(&h));
    EXPECT_EQ(0, engine.post(vdst + 4 * kSize, vsrc, 4, &more));
    EXPECT_EQ(0, wait(&more));
    for (size_t i = 0; i < hs.size(); ++i)
        EXPECT_EQ(0, memcmp(dst.data() + i * kSize, src.data(), kSize)) << i;
}

} // namespace
} // namespace veo::emu
