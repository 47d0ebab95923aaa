// VE memory: allocation, read/write and veo_hmemcpy in every direction, at odd
// offsets and sizes, with the bytes around each copy checked untouched.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace veshm_test {
namespace {

class Memory : public NoLeftoversTest {
  protected:
    void SetUp() override { ASSERT_NE(nullptr, proc.h); }
    VeProcess proc{0};
};

// (offset, length) pairs: odd offsets, odd lengths, page crossings.
const std::pair<size_t, size_t> kCases[] = {{0, 1},       {1, 1},         {3, 7},      {7, 4096},
                                            {4095, 4097}, {12345, 65537}, {1, 1000003}};
constexpr size_t kBlock = 4 * MiB;
constexpr size_t kGuard = 16;

TEST_F(Memory, AllocMemGivesUsableVemva) {
    uint64_t a = 0;
    ASSERT_EQ(0, veo_alloc_mem(proc, &a, 1000));
    EXPECT_NE(0u, a);
    EXPECT_EQ(0, veo_is_ve_addr((void *)a)); // a VEMVA, not an HMEM address
    std::vector<uint8_t> in(1000), out(1000);
    fill_pattern(in.data(), in.size(), 11, 0);
    ASSERT_EQ(0, veo_write_mem(proc, a, in.data(), in.size()));
    ASSERT_EQ(0, veo_read_mem(proc, out.data(), a, out.size()));
    EXPECT_EQ(in, out);
    EXPECT_EQ(0, veo_free_mem(proc, a));
    EXPECT_NE(0, veo_free_mem(proc, a));                // twice
    EXPECT_NE(0, veo_read_mem(proc, out.data(), a, 8)); // freed memory is no memory
}

TEST_F(Memory, AllocMemErrors) {
    uint64_t a = 0;
    EXPECT_NE(0, veo_alloc_mem(nullptr, &a, 64));
    EXPECT_NE(0, veo_alloc_mem(proc, nullptr, 64));
    EXPECT_NE(0, veo_alloc_mem(proc, &a, 0));
    veo_emu_node_info info{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
    EXPECT_NE(0, veo_alloc_mem(proc, &a, info.memory_size + 1));
    EXPECT_NE(0, veo_free_mem(nullptr, 0x600000000000ULL));
    EXPECT_NE(0, veo_free_mem(proc, 0x600000000040ULL)); // never allocated
}

TEST_F(Memory, AllocHmemAndFree) {
    void *p = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(proc, &p, 3 * MiB));
    EXPECT_EQ(1, veo_is_ve_addr(p));
    EXPECT_EQ(veo_proc_identifier(proc), veo_get_proc_identifier_from_hmem(p));
    EXPECT_EQ(0, veo_free_hmem(p));
    EXPECT_NE(0, veo_free_hmem(p));
    EXPECT_NE(0, veo_alloc_hmem(proc, nullptr, 64));
    // Without a process AVEO hands out VH memory.
    void *host = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(nullptr, &host, 100));
    EXPECT_EQ(0, veo_is_ve_addr(host));
    memset(host, 1, 100);
    EXPECT_EQ(0, veo_free_hmem(host));
}

TEST_F(Memory, PosixMemalignHmem) {
    void *p = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(proc, &p, kPage, kPage));
    EXPECT_EQ(0u, (uint64_t)veo_get_hmem_addr(p) % kPage);
    EXPECT_EQ(0, veo_free_hmem(p));
    EXPECT_EQ(EINVAL, veo_posix_memalign_hmem(proc, &p, 3, 64));
    EXPECT_EQ(EINVAL, veo_posix_memalign_hmem(proc, &p, 2, 64));
    EXPECT_EQ(EINVAL, veo_posix_memalign_hmem(proc, nullptr, 64, 64));
}

TEST_F(Memory, ReadWriteErrors) {
    uint64_t a = 0;
    ASSERT_EQ(0, veo_alloc_mem(proc, &a, 4096));
    uint8_t buf[8192] = {};
    EXPECT_NE(0, veo_read_mem(nullptr, buf, a, 8));
    EXPECT_NE(0, veo_write_mem(nullptr, a, buf, 8));
    EXPECT_NE(0, veo_read_mem(proc, nullptr, a, 8));
    EXPECT_NE(0, veo_write_mem(proc, a, nullptr, 8));
    // Past the end of the block.
    EXPECT_NE(0, veo_read_mem(proc, buf, a + 4090, 8));
    EXPECT_NE(0, veo_write_mem(proc, a + 4090, buf, 8));
    EXPECT_NE(0, veo_read_mem(proc, buf, a, 8192));
    // Outside any VE memory.
    EXPECT_NE(0, veo_read_mem(proc, buf, 0x1000, 8));
    EXPECT_NE(0, veo_write_mem(proc, 0x1000, buf, 8));
    EXPECT_EQ(0, veo_read_mem(proc, buf, a, 0));
    EXPECT_EQ(0, veo_write_mem(proc, a, buf, 0));
    EXPECT_EQ(0, veo_free_mem(proc, a));
}

// The copy holds seed 1 from position off+5; kGuard bytes either side keep
// the destination's seed 2.
void check_destination(const uint8_t *dst, size_t off, size_t len) {
    size_t lo = off >= kGuard ? off - kGuard : 0;
    EXPECT_EQ(-1, find_mismatch(dst + lo, off - lo, 2, lo)) << "before " << off;
    EXPECT_EQ(-1, find_mismatch(dst + off, len, 1, off + 5)) << "copy " << off << "+" << len;
    EXPECT_EQ(-1, find_mismatch(dst + off + len, kGuard, 2, off + len)) << "after " << off;
}

TEST_F(Memory, HmemcpyEveryDirectionOddOffsets) {
    std::vector<uint8_t> host_src(kBlock), host_dst(kBlock);
    void *ve_src = alloc_ve(proc, kBlock, 64), *ve_dst = alloc_ve(proc, kBlock, 64);
    ASSERT_NE(nullptr, ve_src);
    ASSERT_NE(nullptr, ve_dst);
    fill_pattern(host_src.data(), kBlock, 1, 0);
    fill_pattern(host_of(ve_src), kBlock, 1, 0);
    for (auto [off, len] : kCases) {
        // Source bytes come from off+5, destination goes to off.
        uint8_t *hsrc = host_src.data() + off + 5;
        void *vsrc = offset(ve_src, off + 5);

        // host -> VE
        fill_pattern(host_of(ve_dst), kBlock, 2, 0);
        ASSERT_EQ(0, veo_hmemcpy(offset(ve_dst, off), hsrc, len));
        check_destination(host_of(ve_dst), off, len);
        // VE -> host
        fill_pattern(host_dst.data(), kBlock, 2, 0);
        ASSERT_EQ(0, veo_hmemcpy(host_dst.data() + off, vsrc, len));
        check_destination(host_dst.data(), off, len);
        // VE -> VE in one process
        fill_pattern(host_of(ve_dst), kBlock, 2, 0);
        ASSERT_EQ(0, veo_hmemcpy(offset(ve_dst, off), vsrc, len));
        check_destination(host_of(ve_dst), off, len);
        // host -> host
        fill_pattern(host_dst.data(), kBlock, 2, 0);
        ASSERT_EQ(0, veo_hmemcpy(host_dst.data() + off, hsrc, len));
        check_destination(host_dst.data(), off, len);
    }
    EXPECT_EQ(0, veo_free_hmem(ve_src));
    EXPECT_EQ(0, veo_free_hmem(ve_dst));
}

TEST_F(Memory, ReadWriteMemOddOffsets) {
    std::vector<uint8_t> host(kBlock);
    uint64_t a = 0;
    ASSERT_EQ(0, veo_alloc_mem(proc, &a, kBlock));
    void *hmem = veo_set_proc_identifier((void *)a, veo_proc_identifier(proc));
    for (auto [off, len] : kCases) {
        fill_pattern(host_of(hmem), kBlock, 2, 0);
        fill_pattern(host.data(), kBlock, 1, 0);
        ASSERT_EQ(0, veo_write_mem(proc, a + off, host.data() + off + 5, len));
        check_destination(host_of(hmem), off, len);
        fill_pattern(host_of(hmem), kBlock, 1, 0);
        fill_pattern(host.data(), kBlock, 2, 0);
        ASSERT_EQ(0, veo_read_mem(proc, host.data() + off, a + off + 5, len));
        check_destination(host.data(), off, len);
    }
    EXPECT_EQ(0, veo_free_mem(proc, a));
}

TEST_F(Memory, HmemcpyErrors) {
    VeProcess other(1);
    ASSERT_NE(nullptr, other.h);
    void *mine = alloc_ve(proc, 4096, 64), *theirs = alloc_ve(other, 4096, 64);
    ASSERT_NE(nullptr, mine);
    ASSERT_NE(nullptr, theirs);
    fill_pattern(host_of(mine), 4096, 1, 0);
    fill_pattern(host_of(theirs), 4096, 2, 0);
    // VE to VE across processes is not a copy the API makes.
    EXPECT_EQ(-1, veo_hmemcpy(theirs, mine, 64));
    EXPECT_EQ(-1, veo_hmemcpy(mine, theirs, 64));
    EXPECT_EQ(-1, find_mismatch(host_of(theirs), 4096, 2, 0));
    EXPECT_EQ(-1, find_mismatch(host_of(mine), 4096, 1, 0));
    // No process holds this identifier.
    std::vector<int> used = {veo_proc_identifier(proc), veo_proc_identifier(other)};
    int free_ident = 0;
    while (free_ident == used[0] || free_ident == used[1])
        ++free_ident;
    uint8_t buf[64];
    void *nobody = veo_set_proc_identifier(veo_get_hmem_addr(mine), free_ident);
    EXPECT_NE(0, veo_hmemcpy(buf, nobody, sizeof buf));
    EXPECT_NE(0, veo_hmemcpy(nobody, buf, sizeof buf));
    // Past the end of the block and unallocated memory.
    EXPECT_NE(0, veo_hmemcpy(buf, offset(mine, 4096 - 8), 16));
    EXPECT_NE(0, veo_hmemcpy(offset(mine, 4096 - 8), buf, 16));
    EXPECT_NE(0, veo_hmemcpy(offset(mine, 8), offset(mine, 4096 - 8), 16));
    EXPECT_NE(0, veo_hmemcpy(buf, offset(mine, 1UL << 30), 16));
    EXPECT_EQ(-1, find_mismatch(host_of(mine), 4096, 1, 0));
    EXPECT_EQ(0, veo_hmemcpy(buf, mine, 0));
    EXPECT_EQ(0, veo_free_hmem(mine));
    EXPECT_EQ(0, veo_free_hmem(theirs));
}

} // namespace
} // namespace veshm_test
