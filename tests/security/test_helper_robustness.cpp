// The VE process helper (veorun) answers malformed control messages from its
// VH instead of ending, and the API gives its documented error for proc
// handles that are destroyed or were never handles, instead of crashing.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"

#include "wire/control_protocol.hpp"
#include "sys/unix_socket.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>
#include <veo_vedma.h>
#include <veo_veshm.h>
#include <veo_vhveshm.h>

namespace veshm_test {
namespace {

using namespace veo::emu;

std::set<int> socket_fds() {
    std::set<int> out;
    if (DIR *d = opendir("/proc/self/fd")) {
        while (dirent *de = readdir(d)) {
            char target[64] = {};
            std::string link = std::string("/proc/self/fd/") + de->d_name;
            if (readlink(link.c_str(), target, sizeof target - 1) > 0 &&
                strncmp(target, "socket:", 7) == 0)
                out.insert(atoi(de->d_name));
        }
        closedir(d);
    }
    return out;
}

class HelperRobustness : public NoLeftoversTest {
  protected:
    void SetUp() override {
        std::set<int> before = socket_fds();
        proc = std::make_unique<VeProcess>(0);
        ASSERT_NE(nullptr, proc->h);
        for (int fd : socket_fds())
            if (!before.count(fd))
                control = fd;
        ASSERT_GE(control, 0) << "no control socket appeared with the VE process";
        int type = 0;
        socklen_t len = sizeof type;
        ASSERT_EQ(0, getsockopt(control, SOL_SOCKET, SO_TYPE, &type, &len));
        ASSERT_EQ(SOCK_SEQPACKET, type);
    }

    // Sends raw bytes (and a descriptor if fd >= 0) as the VH would, and
    // returns the error of the reply (-1: no reply; the VE process ended).
    int exchange(const void *buf, size_t len, int fd = -1) {
        if (send_message(control, buf, len, fd >= 0 ? &fd : nullptr, fd >= 0 ? 1 : 0) != 0)
            return -1;
        alignas(8) uint8_t reply[sizeof(ControlReply) + 64];
        int fds[kMaxFdsPerMessage];
        int nfds = kMaxFdsPerMessage;
        ssize_t n = recv_message_until(control, reply, sizeof reply, fds, &nfds,
                                       std::chrono::steady_clock::now() + std::chrono::seconds(10));
        for (int i = 0; i < nfds && n > 0; ++i)
            close(fds[i]);
        if (n < (ssize_t)sizeof(ControlReply))
            return -1;
        ControlReply r;
        memcpy(&r, reply, sizeof r);
        return r.magic == kControlMagic ? r.error : -1;
    }

    // The VE process still serves its VH: memory can be allocated and freed.
    void expect_alive() {
        uint64_t addr = 0;
        EXPECT_EQ(0, veo_alloc_mem(*proc, &addr, 4096));
        EXPECT_EQ(0, veo_free_mem(*proc, addr));
        EXPECT_EQ(0, kill(proc->pid(), 0));
    }

    std::unique_ptr<VeProcess> proc;
    int control = -1;
};

TEST_F(HelperRobustness, EmptyDatagramIsAnsweredNotFatal) {
    EXPECT_EQ(EINVAL, exchange("", 0));
    expect_alive();
}

TEST_F(HelperRobustness, OversizedMessageIsAnsweredNotFatal) {
    std::vector<uint8_t> big(sizeof(ControlHeader) + kControlMaxPayload + 4096, 0x5a);
    ControlHeader hdr{kControlMagic, (uint32_t)ControlType::set_swapped,
                      (uint32_t)(big.size() - sizeof hdr), 7};
    memcpy(big.data(), &hdr, sizeof hdr);
    EXPECT_EQ(EMSGSIZE, exchange(big.data(), big.size()));
    // With a descriptor along, too: it is closed, not kept.
    int fd = dup(0);
    EXPECT_EQ(EMSGSIZE, exchange(big.data(), big.size(), fd));
    close(fd);
    expect_alive();
}

TEST_F(HelperRobustness, WrongDescriptorCountIsAnswered) {
    // set_swapped carries no descriptor; map_attachment carries one.
    uint8_t msg[sizeof(ControlHeader) + 4] = {};
    ControlHeader hdr{kControlMagic, (uint32_t)ControlType::set_swapped, 4, 9};
    memcpy(msg, &hdr, sizeof hdr);
    int fd = dup(0);
    EXPECT_EQ(EINVAL, exchange(msg, sizeof msg, fd));
    close(fd);
    uint8_t map[sizeof(ControlHeader) + sizeof(MapRequest)] = {};
    ControlHeader mh{kControlMagic, (uint32_t)ControlType::map_attachment, sizeof(MapRequest), 10};
    memcpy(map, &mh, sizeof mh);
    EXPECT_EQ(EINVAL, exchange(map, sizeof map));
    // Garbage header: unknown magic and type.
    uint8_t junk[64];
    memset(junk, 0xa5, sizeof junk);
    EXPECT_NE(0, exchange(junk, sizeof junk));
    expect_alive();
}

// Handles that are not (or no longer) VE processes of this VH.
TEST(ProcHandles, DestroyedAndGarbageHandlesGiveTheApiError) {
    veo_proc_handle *gone = veo_proc_create(0);
    ASSERT_NE(nullptr, gone);
    ASSERT_EQ(0, veo_proc_destroy(gone));
    alignas(64) static unsigned char junk[4096];
    memset(junk, 0xa5, sizeof junk);
    veo_proc_handle *garbage = reinterpret_cast<veo_proc_handle *>(junk);
    for (veo_proc_handle *h : {gone, garbage}) {
        EXPECT_EQ(-1, veo_proc_destroy(h));
        EXPECT_EQ(-1, veo_proc_identifier(h));
        uint64_t addr = 0;
        EXPECT_NE(0, veo_alloc_mem(h, &addr, 4096));
        EXPECT_NE(0, veo_free_mem(h, 0x600000000000ULL));
        char buf[8];
        EXPECT_NE(0, veo_read_mem(h, buf, 0x600000000000ULL, sizeof buf));
        EXPECT_NE(0, veo_write_mem(h, 0x600000000000ULL, buf, sizeof buf));
        void *hmem = nullptr;
        EXPECT_NE(0, veo_alloc_hmem(h, &hmem, 4096));
        EXPECT_EQ(-EINVAL, veo_dma_post_wait(h, 0x1000, 0x2000, 4));
        ve_dma_handle_t dh{};
        EXPECT_EQ(-EINVAL, veo_dma_post(h, 0x1000, 0x2000, 4, &dh));
        EXPECT_EQ(-EINVAL, veo_dma_poll(h, &dh));
        errno = 0;
        EXPECT_EQ((void *)-1, veo_shared_mem_attach(h, getpid(), (void *)0x600000000000ULL,
                                                    64 << 20, 0, VE_REGISTER_VEHVA));
        EXPECT_NE(0, errno);
        EXPECT_NE(0, veo_shared_mem_detach(h, (void *)0x1000, VE_REGISTER_VEHVA));
        EXPECT_EQ(nullptr, veo_context_open(h));
        EXPECT_EQ(-1, veo_num_contexts(h));
        EXPECT_EQ(nullptr, veo_get_context(h, 0));
        EXPECT_EQ(0u, veo_load_library(h, "libc.so.6"));
        EXPECT_EQ(-1, veo_shmget(h, 1234, 4096, SHM_HUGETLB));
        void *vehva = nullptr;
        EXPECT_EQ((void *)-1, veo_shmat(h, 0, nullptr, 0, &vehva));
        EXPECT_NE(0, veo_shmdt(h, junk));
        EXPECT_EQ(-1, veo_emu_proc_pid(h));
        EXPECT_EQ(-1, veo_emu_proc_node(h));
    }
}

} // namespace
} // namespace veshm_test
