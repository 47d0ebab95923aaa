// 2 MiB VE pages: an area registered with PCIATB (64 MiB pages) must use the
// PCIATB page size, so VE_REGISTER_PCI is refused (EINVAL); VE_REGISTER_NONE
// areas follow the VE page size. Own executable: configuration is per process.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"

#include <cstdlib>
#include <vector>

namespace veshm_test {
namespace {

constexpr size_t kSmallPage = 2 * MiB;

class SmallPages : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, owner.h);
        ASSERT_NE(nullptr, attacher.h);
        veo_emu_node_info info{};
        ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
        ASSERT_EQ(kSmallPage, info.page_size);
        ASSERT_EQ(kPage, info.pciatb_page_size);
    }
    VeProcess owner{0};
    VeProcess attacher{0};
};

TEST_F(SmallPages, PciRefusedPageSizeDiffers) {
    void *a = alloc_ve(owner, kPage, kPage);
    ASSERT_NE(nullptr, a);
    // Even perfectly PCIATB-aligned.
    EXPECT_EQ(EINVAL, open_error(a, kPage, VE_REGISTER_PCI));
    EXPECT_EQ(EINVAL, open_error(a, kSmallPage, VE_REGISTER_PCI));
    EXPECT_EQ(0, open_error(a, kPage, VE_REGISTER_NONE));
    EXPECT_EQ(0, close_error(a, kPage, VE_REGISTER_NONE));
}

TEST_F(SmallPages, NoneAreasUseTheVePageSize) {
    void *a = alloc_ve(owner, 3 * kSmallPage, kSmallPage);
    ASSERT_NE(nullptr, a);
    EXPECT_EQ(EINVAL, open_error(a, MiB, VE_REGISTER_NONE));
    EXPECT_EQ(EINVAL, open_error(offset(a, MiB), kSmallPage, VE_REGISTER_NONE));
    void *second = offset(a, kSmallPage);
    ASSERT_EQ(0, open_error(second, kSmallPage, VE_REGISTER_NONE));
    fill_pattern(host_of(a), 3 * kSmallPage, 81, 0);
    void *at = nullptr;
    ASSERT_EQ(0, attach_error(attacher, owner.pid(), second, kSmallPage,
                              VE_REGISTER_NONE | VE_REGISTER_VEMVA, &at));
    std::vector<uint8_t> buf(kSmallPage - 3);
    ASSERT_EQ(0, veo_hmemcpy(buf.data(), offset(at, 3), buf.size()));
    EXPECT_EQ(-1, find_mismatch(buf.data(), buf.size(), 81, kSmallPage + 3));
    EXPECT_EQ(EINVAL, attach_error(attacher, owner.pid(), second, MiB,
                                   VE_REGISTER_NONE | VE_REGISTER_VEMVA));
    EXPECT_EQ(0, detach_error(attacher, at, VE_REGISTER_VEMVA));
    EXPECT_EQ(0, close_error(second, kSmallPage, VE_REGISTER_NONE));
}

} // namespace
} // namespace veshm_test

int main(int argc, char **argv) {
    setenv("VESHM_PAGE_SIZE", "2M", 1);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
