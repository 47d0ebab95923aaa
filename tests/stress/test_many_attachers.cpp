// Many VH processes attach one area at the same moment: each was started and
// has its VE process ready before the area exists, and all of them are
// released together. Each reads the whole pattern region by DMA (or by
// hmemcpy through a VEMVA attachment when it is on the owner's node), writes
// a slot of its own, detaches and reports; the owner then finds every slot
// and no attachment left.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"

#include "wire/info_query.hpp"

#include <cstdio>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace veshm_test {
namespace {

constexpr int kAttachers = 16;
constexpr int kRounds = 3;
constexpr uint64_t kSeed = 4242;
constexpr uint64_t kPatternBytes = 16 * MiB;
constexpr uint64_t kSlotBytes = 1 * MiB;

struct AreaMessage {
    pid_t owner;
    int owner_node;
    void *hmem;
};

// One attacher process; exit status 0 when everything it checked was right,
// else the number of the step that failed.
[[noreturn]] void attacher_main(int node, int slot, int ready_fd, int go_fd) {
    veo_proc_handle *h = veo_proc_create(node);
    if (h == nullptr)
        _exit(10);
    void *local = nullptr;
    if (veo_posix_memalign_hmem(h, &local, kPage, kPage) != 0)
        _exit(11);
    uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
    if (lv == (uint64_t)-1)
        _exit(12);
    char ok = 1;
    if (write(ready_fd, &ok, 1) != 1)
        _exit(13);
    AreaMessage m{};
    if (read(go_fd, &m, sizeof m) != (ssize_t)sizeof m)
        _exit(14);
    bool vemva = m.owner_node == node;
    long long kind = vemva ? VE_REGISTER_VEMVA : VE_REGISTER_VEHVA;
    void *at = veo_shared_mem_attach(h, m.owner, m.hmem, kPage, 0, VE_REGISTER_PCI | kind);
    if (at == (void *)-1)
        _exit(20);
    uint8_t *lh = (uint8_t *)veo_emu_hmem_to_vh(local);
    uint64_t slot_off = kPatternBytes + (uint64_t)slot * kSlotBytes;
    if (vemva) {
        if (veo_hmemcpy(local, at, kPatternBytes) != 0)
            _exit(21);
    } else if (veo_dma_post_wait(h, lv, (uint64_t)at, (int)kPatternBytes) != 0) {
        _exit(22);
    }
    if (find_mismatch(lh, kPatternBytes, kSeed, 0) >= 0)
        _exit(23);
    fill_pattern(lh, kSlotBytes, kSeed + 1 + (uint64_t)slot, 0);
    if (vemva) {
        if (veo_hmemcpy((uint8_t *)at + slot_off, local, kSlotBytes) != 0)
            _exit(24);
    } else if (veo_dma_post_wait(h, (uint64_t)at + slot_off, lv, (int)kSlotBytes) != 0) {
        _exit(25);
    }
    if (veo_shared_mem_detach(h, at, kind) != 0)
        _exit(26);
    veo_proc_destroy(h);
    _exit(0);
}

class ManyAttachers : public NoLeftoversTest {};

TEST_F(ManyAttachers, SixteenProcessesAttachOneAreaAtOnce) {
    int verified = 0;
    for (int round = 0; round < kRounds; ++round) {
        int ready[2];
        ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
        std::vector<pid_t> pids;
        std::vector<int> go;
        // Started before this process has any VE process or thread of libveo,
        // so the children fork from a quiet process.
        for (int i = 0; i < kAttachers; ++i) {
            int g[2];
            ASSERT_EQ(0, pipe2(g, O_CLOEXEC));
            pid_t pid = fork();
            ASSERT_GE(pid, 0);
            if (pid == 0)
                attacher_main(i % 4, i, ready[1], g[0]);
            close(g[0]);
            go.push_back(g[1]);
            pids.push_back(pid);
        }
        close(ready[1]);
        int up = 0;
        char c;
        while (up < kAttachers && read(ready[0], &c, 1) == 1)
            ++up;
        close(ready[0]);
        ASSERT_EQ(kAttachers, up) << "attachers that failed to start";

        VeProcess owner(0);
        ASSERT_NE(nullptr, owner.h);
        void *area = alloc_ve(owner, kPage);
        ASSERT_NE(nullptr, area);
        fill_pattern(host_of(area), kPatternBytes, kSeed, 0);
        ASSERT_EQ(0, open_error(area, kPage, VE_REGISTER_PCI));
        AreaMessage m{owner.pid(), veo_emu_proc_node(owner), area};
        for (int fd : go) {
            EXPECT_EQ((ssize_t)sizeof m, write(fd, &m, sizeof m));
            close(fd);
        }
        for (int i = 0; i < kAttachers; ++i) {
            ASSERT_TRUE(wait_child_ended(pids[i]));
            int status = 0;
            ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "attacher " << i << " failed at step "
                << (WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status));
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                ++verified;
        }
        for (int i = 0; i < kAttachers; ++i)
            EXPECT_EQ(-1, find_mismatch(host_of(area) + kPatternBytes + (uint64_t)i * kSlotBytes,
                                        kSlotBytes, kSeed + 1 + (uint64_t)i, 0))
                << "slot " << i;
        EXPECT_EQ(-1, find_mismatch(host_of(area), kPatternBytes, kSeed, 0));
        veo::emu::InfoReply info{};
        std::vector<veo::emu::AreaInfo> areas;
        ASSERT_EQ(0, veo::emu::query_ve_process(owner.pid(), &info, &areas));
        ASSERT_EQ(1u, areas.size());
        EXPECT_EQ(0u, areas[0].attachments);
        EXPECT_EQ(0, close_error(area, kPage, VE_REGISTER_PCI));
    }
    printf("many attachers: %d of %d simultaneous attachments verified\n", verified,
           kRounds * kAttachers);
}

} // namespace
} // namespace veshm_test
