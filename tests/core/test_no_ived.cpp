// A VE OS without IVED: every VESHM call answers ENOTSUP, the rest of VEO
// works. VESHM_IVED is read once per process, hence this own executable.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "vh_segment.hpp"

#include <veo_vhveshm.h>

#include <cstdlib>

namespace veshm_test {
namespace {

class NoIved : public NoLeftoversTest {};

TEST_F(NoIved, VeshmCallsAnswerEnotsup) {
    VeProcess owner(0), attacher(1);
    ASSERT_NE(nullptr, owner.h);
    ASSERT_NE(nullptr, attacher.h);
    void *area = alloc_ve(owner, kPage);
    ASSERT_NE(nullptr, area);
    EXPECT_EQ(ENOTSUP, open_error(area, kPage, VE_REGISTER_PCI));
    EXPECT_EQ(ENOTSUP, open_error(area, kPage, VE_REGISTER_NONE));
    EXPECT_EQ(ENOTSUP, close_error(area, kPage, VE_REGISTER_PCI));
    EXPECT_EQ(ENOTSUP, attach_error(attacher, owner.pid(), area, kPage,
                                    VE_REGISTER_PCI | VE_REGISTER_VEHVA));
    EXPECT_EQ(ENOTSUP, attach_error(attacher, owner.pid(), area, kPage,
                                    VE_REGISTER_NONE | VE_REGISTER_VEMVA));
    EXPECT_EQ(ENOTSUP, detach_error(attacher, (void *)0x100000000ULL, VE_REGISTER_VEHVA));
    EXPECT_EQ(ENOTSUP, detach_error(attacher, area, VE_REGISTER_VEMVA));
    // Memory and copies are not VESHM.
    char in[] = "still works", out[sizeof in] = {};
    ASSERT_EQ(0, veo_hmemcpy(area, in, sizeof in));
    ASSERT_EQ(0, veo_hmemcpy(out, area, sizeof in));
    EXPECT_STREQ(in, out);
}

TEST_F(NoIved, ShmatAnswersEnotsup) {
    VeProcess proc(0);
    ASSERT_NE(nullptr, proc.h);
    VhSegment seg(4096);
    ASSERT_TRUE(seg.ok());
    // Finding a segment needs no IVED; registering it for DMA does.
    EXPECT_EQ(seg.id(), veo_shmget(proc, seg.key(), seg.size(), SHM_HUGETLB | 0600));
    void *vehva = nullptr;
    errno = 0;
    EXPECT_EQ((void *)-1, veo_shmat(proc, seg.id(), nullptr, 0, &vehva));
    EXPECT_EQ(ENOTSUP, errno);
    EXPECT_EQ(1, seg.attach_count());
}

} // namespace
} // namespace veshm_test

int main(int argc, char **argv) {
    setenv("VESHM_IVED", "off", 1);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
