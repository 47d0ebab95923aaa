// The extension API of veo_emu.h: node information, host views of VE memory,
// aliases at fixed addresses, and emulated swapping.
#include <ve_offload.h>
#include <veo_emu.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <vector>

namespace {

constexpr size_t kArea = 64UL << 20;

struct Proc {
    explicit Proc(int node) : h(veo_proc_create(node)) {}
    ~Proc() { veo_proc_destroy(h); }
    veo_proc_handle *h;
};

TEST(EmuExt, NodeInfo) {
    ASSERT_GE(veo_emu_node_count(), 1);
    veo_emu_node_info info{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
    EXPECT_EQ(0, info.node);
    EXPECT_GT(info.memory_size, 0u);
    EXPECT_TRUE(info.page_size == (64u << 20) || info.page_size == (2u << 20));
    EXPECT_GT(info.dma_descriptors, 0u);
    errno = 0;
    EXPECT_EQ(-1, veo_emu_get_node_info(veo_emu_node_count(), &info));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(-1, veo_emu_get_node_info(0, nullptr));
}

TEST(EmuExt, ProcQueries) {
    Proc p(2);
    ASSERT_NE(nullptr, p.h);
    EXPECT_EQ(2, veo_emu_proc_node(p.h));
    EXPECT_GT(veo_emu_proc_pid(p.h), 0);
    EXPECT_EQ(p.h, veo_emu_proc_find(2));
    EXPECT_EQ(nullptr, veo_emu_proc_find(3));
    EXPECT_EQ(-1, veo_emu_proc_node(nullptr));
}

TEST(EmuExt, HostViewsOfVeMemory) {
    Proc p(0);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(p.h, &mem, 8192));
    auto *host = static_cast<char *>(veo_emu_hmem_to_vh(mem));
    ASSERT_NE(nullptr, host);
    strcpy(host, "written by the host");
    char back[32] = {};
    ASSERT_EQ(0, veo_hmemcpy(back, mem, sizeof back));
    EXPECT_STREQ("written by the host", back);
    EXPECT_EQ(mem, veo_emu_vh_to_hmem(host));
    EXPECT_EQ((char *)mem + 100, veo_emu_vh_to_hmem(host + 100));
    int local = 0;
    errno = 0;
    EXPECT_EQ(nullptr, veo_emu_vh_to_hmem(&local));
    EXPECT_EQ(EFAULT, errno);
    errno = 0;
    EXPECT_EQ(nullptr, veo_emu_hmem_to_vh(&local));
    EXPECT_EQ(EFAULT, errno);
}

TEST(EmuExt, AliasAtFixedAddressSharesPages) {
    Proc p(0);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(p.h, &mem, kArea, kArea));
    // Reserve an address the way a symmetric heap would, then map over it.
    void *want = mmap(nullptr, kArea, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, want);
    auto *alias = static_cast<char *>(veo_emu_map_hmem(mem, kArea, want, 1));
    ASSERT_EQ(want, alias);
    alias[kArea - 1] = 42;
    char c = 0;
    ASSERT_EQ(0, veo_hmemcpy(&c, (char *)mem + kArea - 1, 1));
    EXPECT_EQ(42, c);
    EXPECT_EQ((char *)mem + 5, veo_emu_vh_to_hmem(alias + 5));
    EXPECT_EQ(0, veo_emu_unmap_hmem(alias));
    errno = 0;
    EXPECT_EQ(-1, veo_emu_unmap_hmem(alias));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(nullptr, veo_emu_vh_to_hmem(alias + 5));

    auto *anywhere = static_cast<char *>(veo_emu_map_hmem(mem, 4096, nullptr, 0));
    ASSERT_NE(nullptr, anywhere);
    EXPECT_EQ(0, anywhere[0]);
    EXPECT_EQ(0, veo_emu_unmap_hmem(anywhere));
    errno = 0;
    EXPECT_EQ(nullptr, veo_emu_map_hmem(&c, 4096, nullptr, 0));
    EXPECT_EQ(EINVAL, errno);
}

TEST(EmuExt, VehvaHostViewKnowsReadOnly) {
    Proc owner(0), attacher(1);
    void *area = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(owner.h, &area, kArea, kArea));
    ASSERT_EQ(0, veo_shared_mem_open(area, kArea, 0, VE_REGISTER_PCI | VE_SHM_RO));
    void *vehva = veo_shared_mem_attach(attacher.h, veo_get_pid_from_hmem(area), area, kArea, 0,
                                        VE_REGISTER_PCI | VE_SHM_RO | VE_REGISTER_VEHVA);
    ASSERT_NE((void *)-1, vehva);
    int writable = -1;
    EXPECT_NE(nullptr, veo_emu_vehva_to_vh(attacher.h, (uint64_t)vehva, kArea, &writable));
    EXPECT_EQ(0, writable);
    errno = 0;
    EXPECT_EQ(nullptr, veo_emu_vehva_to_vh(attacher.h, (uint64_t)vehva, kArea + 1, &writable));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_EQ(0, veo_shared_mem_detach(attacher.h, vehva, VE_REGISTER_VEHVA));
}

TEST(EmuExt, SwappedOutOwnerGivesEagain) {
    Proc owner(0), attacher(0);
    void *area = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(owner.h, &area, kArea, kArea));
    ASSERT_EQ(0, veo_shared_mem_open(area, kArea, 0, VE_REGISTER_PCI));
    ASSERT_EQ(0, veo_emu_proc_swap_out(owner.h));
    errno = 0;
    EXPECT_EQ((void *)-1, veo_shared_mem_attach(attacher.h, veo_get_pid_from_hmem(area), area,
                                                kArea, 0, VE_REGISTER_PCI | VE_REGISTER_VEHVA));
    EXPECT_EQ(EAGAIN, errno);
    ASSERT_EQ(0, veo_emu_proc_swap_in(owner.h));
    void *vehva = veo_shared_mem_attach(attacher.h, veo_get_pid_from_hmem(area), area, kArea, 0,
                                        VE_REGISTER_PCI | VE_REGISTER_VEHVA);
    EXPECT_NE((void *)-1, vehva);
    EXPECT_EQ(-1, veo_emu_proc_swap_out(nullptr));
}

TEST(EmuExt, VhMemoryRegisteredForDma) {
    Proc p(0);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(p.h, &mem, kArea, kArea));
    uint64_t ve = veo_register_mem_to_dmaatb(mem, kArea);
    ASSERT_NE((uint64_t)-1, ve);
    auto *ve_host = static_cast<unsigned char *>(veo_emu_hmem_to_vh(mem));

    // A host buffer at an address that is not page aligned: its VEHVA keeps
    // the offset in the page, so the DMA alignment rules see the same bytes.
    std::vector<unsigned char> buf(3 * 4096 + 100);
    unsigned char *host = buf.data() + 4;
    size_t n = 3 * 4096;
    for (size_t i = 0; i < n; ++i)
        host[i] = (unsigned char)(i * 7 + 1);
    uint64_t vh = veo_emu_register_vh_mem(p.h, host, n);
    ASSERT_NE((uint64_t)-1, vh);
    EXPECT_EQ((uintptr_t)host & 4095, vh & 4095);
    EXPECT_EQ(0, veo_dma_post_wait(p.h, ve + 64, vh, (int)n));
    EXPECT_EQ(0, memcmp(ve_host + 64, host, n));
    memset(host, 0, n);
    EXPECT_EQ(0, veo_dma_post_wait(p.h, vh + 8, ve + 64, (int)n - 8));
    for (size_t i = 0; i + 8 < n; ++i)
        ASSERT_EQ((unsigned char)(i * 7 + 1), host[i + 8]) << i;
    int writable = 0;
    EXPECT_EQ(host, veo_emu_vehva_to_vh(p.h, vh, n, &writable));
    EXPECT_EQ(1, writable);
    // Beyond the registered pages is outside every DMAATB entry.
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE,
              veo_dma_post_wait(p.h, ve, vh - ((uintptr_t)host & 4095) + 4 * 4096, 4));

    // Unregistered by any VEHVA inside it (the one returned has an offset).
    EXPECT_EQ(0, veo_emu_unregister_vh_mem(p.h, vh));
    errno = 0;
    EXPECT_EQ(-1, veo_emu_unregister_vh_mem(p.h, vh));
    EXPECT_EQ(ECANCELED, errno);
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(p.h, ve, vh, 4));
    // Neither kind of entry can be removed as the other.
    errno = 0;
    EXPECT_EQ(-1, veo_emu_unregister_vh_mem(p.h, ve));
    EXPECT_EQ(ECANCELED, errno);
    uint64_t again = veo_emu_register_vh_mem(p.h, host, n);
    ASSERT_NE((uint64_t)-1, again);
    EXPECT_EQ(-1, veo_unregister_mem_from_dmaatb(p.h, again));
    EXPECT_EQ(0, veo_emu_unregister_vh_mem(p.h, again));
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(p.h, ve));
}

TEST(EmuExt, VhMemoryRegistrationErrors) {
    Proc p(0);
    char byte = 0;
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_emu_register_vh_mem(nullptr, &byte, 1));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_emu_register_vh_mem(p.h, nullptr, 1));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_emu_register_vh_mem(p.h, &byte, 0));
    EXPECT_EQ(EINVAL, errno);
    void *gone = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, gone);
    ASSERT_EQ(0, munmap(gone, 8192));
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_emu_register_vh_mem(p.h, gone, 8192));
    EXPECT_EQ(EFAULT, errno);
    errno = 0;
    EXPECT_EQ(-1, veo_emu_unregister_vh_mem(nullptr, 0));
    EXPECT_EQ(EINVAL, errno);

    // Every registration takes a DMAATB entry: a full DMAATB says ENOMEM,
    // and everything comes back when they are released.
    veo_emu_node_info info{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
    std::vector<uint64_t> taken;
    uint64_t v;
    while ((v = veo_emu_register_vh_mem(p.h, &byte, 1)) != (uint64_t)-1)
        taken.push_back(v);
    EXPECT_EQ(ENOMEM, errno);
    EXPECT_EQ(info.dmaatb_entries, taken.size());
    for (uint64_t t : taken)
        EXPECT_EQ(0, veo_emu_unregister_vh_mem(p.h, t));
    v = veo_emu_register_vh_mem(p.h, &byte, 1);
    EXPECT_NE((uint64_t)-1, v);
    EXPECT_EQ(0, veo_emu_unregister_vh_mem(p.h, v));
}

} // namespace
