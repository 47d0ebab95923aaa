// An attacher running as another user gets EACCES (the owner checks the
// peer's credentials). The tests run as root: the peer drops to nobody in the
// forked child before it execs.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "other_user_install.hpp"
#include "pattern.hpp"
#include "peer_areas.hpp"

#include <unistd.h>

namespace veshm_test {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

class OtherUser : public NoLeftoversTest {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "becoming another user needs root";
        ASSERT_NE(nullptr, me.h);
        area = alloc_ve(me, 2 * kPage);
        ASSERT_NE(nullptr, area);
        fill_pattern(host_of(area), 2 * kPage, 71, 0);
        ASSERT_EQ(0, open_error(area, kPage, VE_REGISTER_PCI));
        ASSERT_EQ(0, open_error(offset(area, kPage), kPage, VE_REGISTER_NONE));
    }
    void TearDown() override {
        if (area != nullptr) {
            EXPECT_EQ(0, close_error(area, kPage, VE_REGISTER_PCI));
            EXPECT_EQ(0, close_error(offset(area, kPage), kPage, VE_REGISTER_NONE));
        }
    }
    std::string attach(const PeerProc &p, void *what, long long flags) {
        return "attach " + p.slot + " " + std::to_string(me.pid()) + " " + hex(what) + " " +
               hex(kPage) + " " + hex(flags);
    }

    void attach_as_nobody(const OtherUserInstall &install);

    VeProcess me{0};
    void *area = nullptr;
};

// The whole scenario, with the peer installed as given.
void OtherUser::attach_as_nobody(const OtherUserInstall &install) {
    PeerOptions as_nobody;
    as_nobody.uid = kNobody;
    as_nobody.gid = kNogroup;
    as_nobody.env = install.env();
    Peer stranger(install.peer(), as_nobody);
    EXPECT_EQ(std::vector<std::string>{std::to_string(kNobody)}, stranger.ok("uid"));
    // nobody runs VE processes of its own, on the same node and on another.
    PeerProc near = peer_create(stranger, 0), far = peer_create(stranger, 1);
    ASSERT_GT(near.ve_pid, 0);
    ASSERT_GT(far.ve_pid, 0);
    EXPECT_EQ(EACCES, stranger.err(attach(far, area, VE_REGISTER_PCI | VE_REGISTER_VEHVA)));
    EXPECT_EQ(EACCES, stranger.err(attach(near, area, VE_REGISTER_PCI | VE_REGISTER_VEMVA)));
    EXPECT_EQ(EACCES, stranger.err(
                          attach(near, offset(area, kPage), VE_REGISTER_NONE | VE_REGISTER_VEMVA)));
    // Refused before anything else: it learns nothing about which areas exist.
    EXPECT_EQ(EACCES, stranger.err(attach(far, offset(area, 8 * kPage),
                                          VE_REGISTER_PCI | VE_REGISTER_VEHVA)));

    // The same requests from our own user succeed, the area is unharmed.
    Peer friendly(peer_program());
    PeerProc f = peer_create(friendly, 1);
    std::vector<std::string> r = friendly.ok(attach(f, area, VE_REGISTER_PCI | VE_REGISTER_VEHVA));
    ASSERT_EQ(1u, r.size());
    friendly.ok("detach " + f.slot + " " + r[0] + " " + hex(VE_REGISTER_VEHVA));
    EXPECT_EQ(-1, find_mismatch(host_of(area), 2 * kPage, 71, 0));
}

TEST_F(OtherUser, AttachGetsEacces) {
    OtherUserInstall install(peer_program(), VEORUN_PATH);
    ASSERT_TRUE(install.ok());
    attach_as_nobody(install);
}

TEST_F(OtherUser, AttachGetsEaccesFromACopiedInstall) {
    // What happens where the build tree is private to root.
    OtherUserInstall install(peer_program(), VEORUN_PATH, true);
    ASSERT_TRUE(install.ok());
    ASSERT_TRUE(install.copied());
    ASSERT_TRUE(reachable_by_others(install.peer()));
    attach_as_nobody(install);
}

} // namespace
} // namespace veshm_test
