// ECANCELED and EBUSY: a VE process that dies while it handles a VESHM request
// cancels that request; later requests find it gone. VEORUN_FAULT makes the
// helper die on receipt of the named request, so the point of death is exact.
#include <ve_offload.h>
#include <veo_veshm.h>

#include <cerrno>
#include <cstdlib>
#include <gtest/gtest.h>
#include <unistd.h>

namespace {

constexpr size_t kArea = 64UL << 20;

// A VE process whose helper dies on the named control request.
struct FaultyProc {
    explicit FaultyProc(const char *fault, int node = 0) {
        setenv("VEORUN_FAULT", fault, 1);
        h = veo_proc_create(node);
        unsetenv("VEORUN_FAULT");
    }
    ~FaultyProc() { veo_proc_destroy(h); }
    veo_proc_handle *h;
};

void *alloc_area(veo_proc_handle *h) {
    void *p = nullptr;
    EXPECT_EQ(0, veo_posix_memalign_hmem(h, &p, kArea, kArea));
    return p;
}

TEST(Cancel, OpenCanceledWhenVeProcessDiesThenBusy) {
    FaultyProc p("register_area");
    ASSERT_NE(nullptr, p.h);
    void *area = alloc_area(p.h);
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_open(area, kArea, 0, VE_REGISTER_PCI));
    EXPECT_EQ(ECANCELED, errno);
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_open(area, kArea, 0, VE_REGISTER_PCI));
    EXPECT_EQ(EBUSY, errno);
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_close(area, kArea, 0, VE_REGISTER_PCI));
    EXPECT_EQ(EBUSY, errno);
}

TEST(Cancel, CloseCanceledWhenVeProcessDies) {
    FaultyProc p("unregister_area");
    ASSERT_NE(nullptr, p.h);
    void *area = alloc_area(p.h);
    ASSERT_EQ(0, veo_shared_mem_open(area, kArea, 0, VE_REGISTER_PCI));
    errno = 0;
    EXPECT_EQ(-1, veo_shared_mem_close(area, kArea, 0, VE_REGISTER_PCI));
    EXPECT_EQ(ECANCELED, errno);
}

TEST(Cancel, VemvaAttachAndDetachCanceled) {
    veo_proc_handle *owner = veo_proc_create(0);
    ASSERT_NE(nullptr, owner);
    void *area = alloc_area(owner);
    ASSERT_EQ(0, veo_shared_mem_open(area, kArea, 0, VE_REGISTER_NONE));
    pid_t pid = veo_get_pid_from_hmem(area);
    {
        FaultyProc attacher("map_attachment");
        ASSERT_NE(nullptr, attacher.h);
        errno = 0;
        EXPECT_EQ((void *)-1, veo_shared_mem_attach(attacher.h, pid, area, kArea, 0,
                                                    VE_REGISTER_NONE | VE_REGISTER_VEMVA));
        EXPECT_EQ(ECANCELED, errno);
        errno = 0;
        EXPECT_EQ((void *)-1, veo_shared_mem_attach(attacher.h, pid, area, kArea, 0,
                                                    VE_REGISTER_NONE | VE_REGISTER_VEMVA));
        EXPECT_EQ(EBUSY, errno);
    }
    {
        FaultyProc attacher("unmap_attachment");
        ASSERT_NE(nullptr, attacher.h);
        void *at = veo_shared_mem_attach(attacher.h, pid, area, kArea, 0,
                                         VE_REGISTER_NONE | VE_REGISTER_VEMVA);
        ASSERT_NE((void *)-1, at);
        errno = 0;
        EXPECT_EQ(-1, veo_shared_mem_detach(attacher.h, at, VE_REGISTER_VEMVA));
        EXPECT_EQ(ECANCELED, errno);
    }
    // The owner is unaffected by its attachers' deaths.
    EXPECT_EQ(0, veo_shared_mem_close(area, kArea, 0, VE_REGISTER_NONE));
    EXPECT_EQ(0, veo_proc_destroy(owner));
}

} // namespace
