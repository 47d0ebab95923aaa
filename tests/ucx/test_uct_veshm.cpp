// UCT-level tests of the veshm transport across two real processes: this
// test process and uct_peer (UCT_PEER_PATH), which owns the remote memory.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ucs/arch/cpu.h>
#include <ucs/debug/log_def.h>

#include "copy_help.h"
#include "run_apart.h"
#include "uct_common.h"
#include "uct_peer_process.hpp"
#include "veshm_rkey_format.h"
#include "veo_veshm_defs.h" // C++ operators: not inside extern "C" below
// The transport's C headers (the interface address, the FIFO's layout).
extern "C" {
#include "veshm_fifo.h"
#include "veshm_iface.h"
#include "veshm_md.h"
}
#include "veshm_scope.h"
#include "ve_offload.h"
#include "veo_hmem.h"
#include "veo_emu.h"

using VeoProcHandle = struct veo_proc_handle;

extern char **environ;
extern "C" void uct_veshm_rkey_cache_stats(uint64_t *hits, uint64_t *misses);
extern "C" void *uct_veshm_peer_view(pid_t owner_pid, uint64_t hmem, size_t *len);
extern "C" void uct_veshm_dma_stats(uint64_t *posts, uint64_t *bytes);
extern "C" void uct_veshm_pio_stats(uint64_t *put_bytes, uint64_t *get_bytes);
extern "C" void uct_veshm_help_stats(uint64_t *helped, uint64_t *served);
extern "C" int uct_veshm_help_kernel_measured(void);
extern "C" uint64_t uct_veshm_md_exported(const void *address, size_t length);

namespace {

constexpr size_t kMiB = 1ul << 20;

struct Completion {
    uct_completion_t comp;
    bool done = false;
    ucs_status_t status = UCS_OK;
};

void on_done(uct_completion_t *c) {
    auto *w = reinterpret_cast<Completion *>(c);
    w->done = true;
    w->status = c->status;
}

struct LocalBuf;

class UctVeshm : public ::testing::Test {
  protected:
    uct_test_ctx_t ctx{};
    Peer peer;
    uct_ep_h ep = nullptr;
    uct_rkey_bundle_t rkey{};
    bool have_rkey = false;
    uint64_t raddr = 0;
    size_t rlen = 0;
    veshm_rkey_info_t rinfo{}; // the peer's key, decoded

    void SetUp() override {
        ASSERT_EQ(uct_test_open(&ctx), 0);
        peer.start();
    }
    void TearDown() override {
        if (have_rkey)
            uct_rkey_release(ctx.component, &rkey);
        if (ep)
            uct_ep_destroy(ep);
        uct_test_close(&ctx);
    }
    // What the peer must have done of copies made while it polls.
    enum class PeerPart { helped, helped_through_view, nothing };
    void copies_while_peer_polls(LocalBuf &buf, size_t n, uint64_t off, PeerPart part);
    // Peer allocates; we connect and unpack its key.
    void remote(uint32_t kind, size_t len, ucs_status_t expect_unpack = UCS_OK) {
        peer_reply_t r = peer.call(PEER_ALLOC, kind, len);
        ASSERT_EQ(r.status, UCS_OK);
        raddr = r.addr;
        rlen = r.length;
        if (kind == ALLOC_MD_FIXED) {
            EXPECT_EQ(r.addr, r.value) << "FIXED allocation not at the requested address";
        }
        uct_ep_params_t p{};
        p.field_mask =
            UCT_EP_PARAM_FIELD_IFACE | UCT_EP_PARAM_FIELD_DEV_ADDR | UCT_EP_PARAM_FIELD_IFACE_ADDR;
        p.iface = ctx.iface;
        p.dev_addr = reinterpret_cast<const uct_device_addr_t *>(r.dev_addr);
        p.iface_addr = reinterpret_cast<const uct_iface_addr_t *>(r.iface_addr);
        ASSERT_TRUE(uct_iface_is_reachable(ctx.iface, p.dev_addr, p.iface_addr));
        ASSERT_EQ(uct_ep_create(&p, &ep), UCS_OK);
        (void)veshm_rkey_decode(r.rkey, VESHM_RKEY_PACKED_SIZE, &rinfo);
        ucs_status_t s = uct_rkey_unpack(ctx.component, r.rkey, &rkey);
        ASSERT_EQ(s, expect_unpack);
        have_rkey = s == UCS_OK;
    }
    // The help slot (veshm_help.h) in the FIFO of the interface whose
    // address r carries, as our endpoint attached it; NULL if it did not.
    static veshm_copy_help *peer_help_slot(const peer_reply_t &r) {
        uct_veshm_iface_addr_t ia;
        memcpy(&ia, r.iface_addr, sizeof(ia));
        size_t vlen = SIZE_MAX;
        auto *fifo =
            static_cast<uint8_t *>(uct_veshm_peer_view(ia.am.owner_pid, ia.am.hmem, &vlen));
        return fifo != nullptr ? &uct_veshm_fifo_ctl(fifo)->help : nullptr;
    }
    void progress() { uct_worker_progress(ctx.worker); }
    ucs_status_t wait(ucs_status_t s, Completion &c) {
        if (s != UCS_INPROGRESS)
            return s;
        auto t0 = std::chrono::steady_clock::now();
        while (!c.done) {
            progress();
            if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(60))
                return UCS_ERR_TIMED_OUT;
        }
        return c.status;
    }
    ucs_status_t flush() {
        auto t0 = std::chrono::steady_clock::now();
        ucs_status_t s;
        while ((s = uct_ep_flush(ep, 0, nullptr)) == UCS_INPROGRESS || s == UCS_ERR_NO_RESOURCE) {
            progress();
            if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(60))
                return UCS_ERR_TIMED_OUT;
        }
        return s;
    }
    // One put or get of len bytes between local+loff and remote+roff.
    enum Method { SHORT, BCOPY, ZCOPY };
    ucs_status_t put(Method m, uint8_t *local, uct_mem_h memh, size_t len, uint64_t raddr_) {
        for (;;) {
            ucs_status_t s;
            if (m == SHORT) {
                s = uct_ep_put_short(ep, local, (unsigned)len, raddr_, rkey.rkey);
            } else if (m == BCOPY) {
                struct Arg {
                    uint8_t *p;
                    size_t n;
                } arg{local, len};
                ssize_t r = uct_ep_put_bcopy(
                    ep,
                    [](void *dest, void *a) -> size_t {
                        auto *x = static_cast<Arg *>(a);
                        memcpy(dest, x->p, x->n);
                        return x->n;
                    },
                    &arg, raddr_, rkey.rkey);
                s = r >= 0 ? UCS_OK : (ucs_status_t)r;
                if (r >= 0) {
                    EXPECT_EQ((size_t)r, len);
                }
            } else {
                Completion c;
                c.comp = {on_done, 1, UCS_OK};
                uct_iov_t iov{local, len, memh, 0, 1};
                s = wait(uct_ep_put_zcopy(ep, &iov, 1, raddr_, rkey.rkey, &c.comp), c);
            }
            if (s != UCS_ERR_NO_RESOURCE)
                return s;
            progress();
        }
    }
    ucs_status_t get(Method m, uint8_t *local, uct_mem_h memh, size_t len, uint64_t raddr_) {
        for (;;) {
            Completion c;
            c.comp = {on_done, 1, UCS_OK};
            ucs_status_t s;
            if (m == BCOPY) {
                struct Arg {
                    uint8_t *p;
                } arg{local};
                s = uct_ep_get_bcopy(
                    ep,
                    [](void *a, const void *data, size_t n) {
                        memcpy(static_cast<Arg *>(a)->p, data, n);
                    },
                    &arg, len, raddr_, rkey.rkey, &c.comp);
                s = wait(s, c);
            } else {
                uct_iov_t iov{local, len, memh, 0, 1};
                s = wait(uct_ep_get_zcopy(ep, &iov, 1, raddr_, rkey.rkey, &c.comp), c);
            }
            if (s != UCS_ERR_NO_RESOURCE)
                return s;
            progress();
        }
    }
    uint64_t remote_hash(uint64_t off, size_t len) {
        peer_reply_t r = peer.call(PEER_HASH, 0, off, len);
        EXPECT_EQ(r.status, UCS_OK);
        return r.value;
    }
};

struct LocalBuf {
    uct_md_h md = nullptr;
    uint8_t *p = nullptr;
    size_t len = 0;
    uct_mem_h memh = nullptr;
    bool allocated = false;
    uct_allocated_memory_t mem{};
    LocalBuf(uct_test_ctx_t &ctx, size_t n, bool ve) : md(ctx.md), len(n) {
        if (ve) {
            EXPECT_EQ(uct_test_md_alloc(&ctx, n, nullptr, 0, &mem), UCS_OK);
            p = static_cast<uint8_t *>(mem.address);
            len = mem.length;
            memh = mem.memh;
            allocated = true;
            EXPECT_NE(veo_emu_vh_to_hmem(p), nullptr) << "md alloc did not return VE memory";
        } else {
            // aligned_alloc wants a multiple of the alignment (ASan insists).
            p = static_cast<uint8_t *>(aligned_alloc(4096, (n + 4095) & ~size_t(4095)));
            EXPECT_EQ(uct_md_mem_reg(md, p, n, UCT_MD_MEM_ACCESS_ALL, &memh), UCS_OK);
        }
    }
    ~LocalBuf() {
        if (allocated) {
            uct_mem_free(&mem);
        } else {
            uct_md_mem_dereg(md, memh);
            free(p);
        }
    }
};

// A byte of VE memory as the VE process itself sees it at its VEMVA
// (/proc/<pid>/mem of the VE process, our child), -1 if unreadable.
int ve_process_byte(void *hmem) {
    std::string mem = "/proc/" + std::to_string(veo_get_pid_from_hmem(hmem)) + "/mem";
    int fd = open(mem.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint8_t v = 0;
    ssize_t n = pread(fd, &v, 1, (off_t)(uintptr_t)veo_get_hmem_addr(hmem));
    close(fd);
    return n == 1 ? v : -1;
}

TEST_F(UctVeshm, MdAllocIsHostAddressableVeMemory) {
    EXPECT_TRUE(ctx.md_attr.cap.flags & UCT_MD_FLAG_ALLOC);
    EXPECT_TRUE(ctx.md_attr.cap.flags & UCT_MD_FLAG_FIXED);
    LocalBuf b(ctx, 3 * kMiB, true);
    EXPECT_EQ(b.len % (64 * kMiB), 0u) << "allocation not in 64 MiB granules";
    void *hmem = veo_emu_vh_to_hmem(b.p);
    ASSERT_NE(hmem, nullptr);
    // A store through the host address is in the VE process's memory, seen
    // from the VE process (not read back through the same mapping).
    b.p[12345] = 0x5a;
    b.p[2 * kMiB + 1] = 0xa5;
    EXPECT_EQ(ve_process_byte(static_cast<uint8_t *>(hmem) + 12345), 0x5a);
    EXPECT_EQ(ve_process_byte(static_cast<uint8_t *>(hmem) + 2 * kMiB + 1), 0xa5);
}

// What a helper through the kernel costs (copy_help_kernel_cost.h) is
// measured when the interface opens: in the first large put it took 0.5 ms
// on a VM with shadow paging (osu_oshm_put 256 KiB: 12.9 us on average
// against UCX posix's 7.3).
TEST_F(UctVeshm, KernelCostIsMeasuredBeforeAnyTransfer) {
    EXPECT_TRUE(uct_veshm_help_kernel_measured());
}

TEST_F(UctVeshm, MdAllocFixedAddress) {
    size_t g = 64 * kMiB, len = g;
    void *r = mmap(nullptr, 2 * g, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(r, MAP_FAILED);
    void *want = reinterpret_cast<void *>((reinterpret_cast<uintptr_t>(r) + g - 1) & ~(g - 1));
    uct_allocated_memory_t mem;
    ASSERT_EQ(uct_test_md_alloc(&ctx, len, want, UCT_MD_MEM_FLAG_FIXED, &mem), UCS_OK);
    void *addr = mem.address;
    EXPECT_EQ(addr, want);
    void *hmem = veo_emu_vh_to_hmem(addr);
    ASSERT_NE(hmem, nullptr);
    static_cast<uint8_t *>(addr)[777] = 0xa5;
    EXPECT_EQ(static_cast<uint8_t *>(veo_emu_hmem_to_vh(hmem))[777], 0xa5);
    EXPECT_EQ(uct_mem_free(&mem), UCS_OK);
    munmap(r, 2 * g);
}

TEST_F(UctVeshm, RemoteFixedAllocationIsReachable) {
    remote(ALLOC_MD_FIXED, 64 * kMiB);
    std::vector<uint8_t> src(100000);
    uct_test_fill(src.data(), src.size(), 0, 7);
    ASSERT_EQ(put(ZCOPY, src.data(), nullptr, src.size(), raddr + 3), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    EXPECT_EQ(remote_hash(3, src.size()), uct_test_hash(src.data(), src.size()));
}

TEST_F(UctVeshm, HostMemoryRegistersButIsUnreachable) {
    std::vector<uint8_t> host(1 << 20);
    uct_mem_h memh;
    ASSERT_EQ(uct_md_mem_reg(ctx.md, host.data(), host.size(), UCT_MD_MEM_ACCESS_ALL, &memh),
              UCS_OK);
    std::vector<uint8_t> packed(ctx.md_attr.rkey_packed_size);
    ASSERT_EQ(uct_md_mkey_pack(ctx.md, memh, packed.data()), UCS_OK);
    uct_rkey_bundle_t b;
    EXPECT_EQ(uct_rkey_unpack(ctx.component, packed.data(), &b), UCS_ERR_UNREACHABLE);
    EXPECT_EQ(uct_md_mem_dereg(ctx.md, memh), UCS_OK);
    // And a peer's host memory, too.
    remote(ALLOC_HOST, 1 << 20, UCS_ERR_UNREACHABLE);
}

// A key whose owner pid is not a VE process of this user (here: this test
// process) never unpacks, however well formed; a device address of another
// boot, PID or network namespace or user is unreachable.
TEST_F(UctVeshm, ForgedKeysAndForeignScopesAreUnreachable) {
    peer_reply_t r = peer.call(PEER_ALLOC, ALLOC_MD, 64 * kMiB);
    ASSERT_EQ(r.status, UCS_OK);
    veshm_rkey_info_t info;
    ASSERT_EQ(veshm_rkey_decode(r.rkey, VESHM_RKEY_PACKED_SIZE, &info), VESHM_RKEY_OK);
    uct_rkey_bundle_t b;
    ASSERT_EQ(uct_rkey_unpack(ctx.component, r.rkey, &b), UCS_OK);
    uct_rkey_release(ctx.component, &b);
    std::vector<uint8_t> forged(VESHM_RKEY_PACKED_SIZE);
    info.owner_pid = getpid();
    ASSERT_EQ(veshm_rkey_encode(&info, forged.data(), forged.size()), VESHM_RKEY_OK);
    EXPECT_EQ(uct_rkey_unpack(ctx.component, forged.data(), &b), UCS_ERR_UNREACHABLE);

    const auto *iface_addr = reinterpret_cast<const uct_iface_addr_t *>(r.iface_addr);
    uct_veshm_scope_t scope;
    memcpy(&scope, r.dev_addr, sizeof scope);
    EXPECT_TRUE(uct_iface_is_reachable(ctx.iface, (const uct_device_addr_t *)&scope, iface_addr));
    for (int field = 0; field < 4; ++field) {
        uct_veshm_scope_t other = scope;
        if (field == 0)
            other.boot_id[7] ^= 1;
        if (field == 1)
            other.pid_ns ^= 1;
        if (field == 2)
            other.net_ns ^= 1;
        if (field == 3)
            other.uid ^= 1;
        EXPECT_FALSE(
            uct_iface_is_reachable(ctx.iface, (const uct_device_addr_t *)&other, iface_addr))
            << "scope field " << field;
    }
}

// A key of areas a VE program opened read-only (VE_SHM_RO) reads by every
// method and writes by none: no put (short, bcopy, zcopy, one large enough for
// the peer's help) and no atomic changes a byte. The attachment's host view is
// mapped without write access, so a store that got past the checks would end
// this test with SIGSEGV rather than pass it.
TEST_F(UctVeshm, ReadOnlyAreasServeGetsAndRefuseEveryWrite) {
    const size_t n = 1 << 20;
    remote(ALLOC_VE_RO, n);
    ASSERT_TRUE(have_rkey);
    ASSERT_NE(rinfo.mode_flag & VE_SHM_RO, 0u);
    const uint32_t seed = 5;
    ASSERT_EQ(peer.call(PEER_FILL, 0, 0, n, seed).status, UCS_OK);
    const uint64_t before = remote_hash(0, n);
    ASSERT_EQ(before, uct_test_pattern_hash(0, n, seed));

    LocalBuf buf(ctx, n, false);
    ASSERT_EQ(get(BCOPY, buf.p, nullptr, 8, raddr + 8), UCS_OK);
    EXPECT_EQ(uct_test_hash(buf.p, 8), uct_test_pattern_hash(8, 8, seed));
    ASSERT_EQ(get(BCOPY, buf.p, nullptr, 4096, raddr + 100), UCS_OK);
    EXPECT_EQ(uct_test_hash(buf.p, 4096), uct_test_pattern_hash(100, 4096, seed));
    ASSERT_EQ(get(ZCOPY, buf.p, buf.memh, n, raddr), UCS_OK);
    EXPECT_EQ(uct_test_hash(buf.p, n), before);

    memset(buf.p, 0xab, n);
    for (size_t len : {size_t(8), size_t(64), size_t(65)}) {
        EXPECT_NE(put(SHORT, buf.p, nullptr, len, raddr), UCS_OK) << "put_short of " << len;
    }
    EXPECT_NE(put(BCOPY, buf.p, nullptr, 4096, raddr + 4), UCS_OK) << "put_bcopy";
    for (size_t len : {size_t(5), size_t(4096), size_t(256 * 1024), n}) {
        EXPECT_NE(put(ZCOPY, buf.p, buf.memh, len, raddr), UCS_OK) << "put_zcopy of " << len;
    }
    uint64_t old64 = 0;
    uint32_t old32 = 0;
    EXPECT_NE(uct_ep_atomic64_post(ep, UCT_ATOMIC_OP_ADD, 1, raddr, rkey.rkey), UCS_OK);
    EXPECT_NE(uct_ep_atomic32_post(ep, UCT_ATOMIC_OP_XOR, 1, raddr + 8, rkey.rkey), UCS_OK);
    EXPECT_NE(
        uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_SWAP, 1, &old64, raddr + 16, rkey.rkey, nullptr),
        UCS_OK);
    EXPECT_NE(uct_ep_atomic_cswap32(ep, 0, 1, raddr + 24, rkey.rkey, &old32, nullptr), UCS_OK);
    EXPECT_EQ(flush(), UCS_OK);
    EXPECT_EQ(remote_hash(0, n), before);
}

TEST_F(UctVeshm, SharedAreaOutlivesOneOfTwoRegistrations) {
    remote(ALLOC_VE_REG_TWICE, 1 << 20);
    std::vector<uint8_t> src(4096);
    uct_test_fill(src.data(), src.size(), 0, 9);
    ASSERT_EQ(put(ZCOPY, src.data(), nullptr, src.size(), raddr + 1), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    EXPECT_EQ(remote_hash(1, src.size()), uct_test_hash(src.data(), src.size()));
}

TEST_F(UctVeshm, RkeyCacheHit) {
    peer_reply_t r = peer.call(PEER_ALLOC, ALLOC_MD, 64 * kMiB);
    ASSERT_EQ(r.status, UCS_OK);
    uint64_t h0, m0, h1, m1, h2, m2, h3, m3;
    uct_veshm_rkey_cache_stats(&h0, &m0);
    uct_rkey_bundle_t a, b, c;
    ASSERT_EQ(uct_rkey_unpack(ctx.component, r.rkey, &a), UCS_OK);
    uct_veshm_rkey_cache_stats(&h1, &m1);
    EXPECT_EQ(m1, m0 + 1) << "first unpack must attach";
    ASSERT_EQ(uct_rkey_unpack(ctx.component, r.rkey, &b), UCS_OK);
    uct_veshm_rkey_cache_stats(&h2, &m2);
    EXPECT_EQ(m2, m1) << "second unpack of the same area must not attach again";
    EXPECT_EQ(h2, h1 + 1);
    uct_rkey_release(ctx.component, &a);
    uct_rkey_release(ctx.component, &b);
    // Released by all, the attachment stays for the next key of the area (UCP
    // unpacks the sender's key for every rendezvous message).
    ASSERT_EQ(uct_rkey_unpack(ctx.component, r.rkey, &c), UCS_OK);
    uct_veshm_rkey_cache_stats(&h3, &m3);
    EXPECT_EQ(m3, m2) << "a released attachment must be kept";
    EXPECT_EQ(h3, h2 + 1);
    uct_rkey_release(ctx.component, &c);
}

// The routing library's window views (mpi_osc_route/direct_win.c): memory of
// a peer is reachable through a host view only while a key of ours holds its
// area, only inside that area, and only for its owner.
TEST_F(UctVeshm, PeerViewOnlyWhileAKeyHoldsTheArea) {
    remote(ALLOC_MD, 1 << 20);
    const veshm_rkey_info_t &info = rinfo;
    const uint64_t at = info.region_hmem + 64;
    size_t len = 4096;
    auto *view = static_cast<uint8_t *>(uct_veshm_peer_view(info.owner_pid, at, &len));
    ASSERT_NE(view, nullptr);
    EXPECT_EQ(len, 4096u);
    std::vector<uint8_t> src(4096);
    uct_test_fill(src.data(), src.size(), 0, 11);
    memcpy(view, src.data(), src.size());
    EXPECT_EQ(remote_hash(64, src.size()), uct_test_hash(src.data(), src.size()));
    // A view ends with its area.
    const uint64_t area_end = info.area_hmem + info.area_count * info.granule;
    len = 16;
    EXPECT_NE(uct_veshm_peer_view(info.owner_pid, area_end - 8, &len), nullptr);
    EXPECT_EQ(len, 8u);
    len = 8;
    EXPECT_EQ(uct_veshm_peer_view(info.owner_pid, area_end, &len), nullptr) << "past the area";
    EXPECT_EQ(len, 0u);
    len = 8;
    EXPECT_EQ(uct_veshm_peer_view(getpid(), at, &len), nullptr) << "another owner";
    uct_rkey_release(ctx.component, &rkey);
    have_rkey = false;
    len = 8;
    EXPECT_EQ(uct_veshm_peer_view(info.owner_pid, at, &len), nullptr) << "key released";
}

// A kept attachment serves keys of the same opening of an area only: once
// the owner closed the area and opened it again, its key attaches anew (on
// real VE memory the pages behind an address may have changed in between).
TEST_F(UctVeshm, RkeyCacheKeepsNoAttachmentAcrossAReopenedArea) {
    remote(ALLOC_VE_REG_TWICE, 1 << 20);
    std::vector<uint8_t> src(4096);
    uct_test_fill(src.data(), src.size(), 0, 3);
    ASSERT_EQ(put(ZCOPY, src.data(), nullptr, src.size(), raddr), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    uct_rkey_release(ctx.component, &rkey);
    have_rkey = false;

    peer_reply_t r = peer.call(PEER_REREGISTER, 0, 0);
    ASSERT_EQ(r.status, UCS_OK);
    ASSERT_EQ(r.addr, raddr);
    uint64_t h0, m0, h1, m1;
    uct_veshm_rkey_cache_stats(&h0, &m0);
    ASSERT_EQ(uct_rkey_unpack(ctx.component, r.rkey, &rkey), UCS_OK);
    have_rkey = true;
    uct_veshm_rkey_cache_stats(&h1, &m1);
    EXPECT_EQ(m1, m0 + 1) << "the reopened area must be attached again";
    EXPECT_EQ(h1, h0);
    uct_test_fill(src.data(), src.size(), 0, 4);
    ASSERT_EQ(put(ZCOPY, src.data(), nullptr, src.size(), raddr + 8), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    EXPECT_EQ(remote_hash(8, src.size()), uct_test_hash(src.data(), src.size()));
}

// With the DMAATB full, a key still unpacks: its area is attached on first
// use (Open MPI unpacks the keys of every window of every peer at window
// creation). That use fails with UCS_ERR_NO_MEMORY while the table stays
// full, and works once another key is released. Runs as its own CTest entry
// with VESHM_DMAATB_ENTRIES=8 (tests/ucx/CMakeLists.txt); skipped with a
// table too large to fill here.
TEST_F(UctVeshm, DmaatbFullDefersAttachToFirstUse) {
    veo_emu_node_info node{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &node));
    if (node.dmaatb_entries > 16)
        GTEST_SKIP() << "needs VESHM_DMAATB_ENTRIES <= 16";
    remote(ALLOC_MD, 64 * kMiB);
    uint8_t buf[8];
    ASSERT_EQ(get(BCOPY, buf, nullptr, sizeof buf, raddr), UCS_OK);
    // More areas of the peer until one key unpacks without attaching.
    std::vector<uct_rkey_bundle_t> keys;
    std::vector<uint64_t> addrs;
    bool deferred = false;
    for (int i = 0; i < 32 && !deferred; ++i) {
        peer_reply_t r = peer.call(PEER_ALLOC, ALLOC_MD, 64 * kMiB);
        ASSERT_EQ(r.status, UCS_OK);
        uint64_t h0, m0, h1, m1;
        uct_veshm_rkey_cache_stats(&h0, &m0);
        uct_rkey_bundle_t b;
        ASSERT_EQ(uct_rkey_unpack(ctx.component, r.rkey, &b), UCS_OK) << "key " << i;
        uct_veshm_rkey_cache_stats(&h1, &m1);
        deferred = m1 == m0;
        keys.push_back(b);
        addrs.push_back(r.addr);
    }
    ASSERT_TRUE(deferred) << "the DMAATB never filled";
    // The deferred key's first use: the table is still full.
    std::swap(rkey, keys.back());
    EXPECT_EQ(get(BCOPY, buf, nullptr, sizeof buf, addrs.back()), UCS_ERR_NO_MEMORY);
    // One attached key released: now it attaches and works.
    uct_rkey_release(ctx.component, &keys.front());
    EXPECT_EQ(get(BCOPY, buf, nullptr, sizeof buf, addrs.back()), UCS_OK);
    std::swap(rkey, keys.back());
    for (size_t i = 1; i < keys.size(); ++i)
        uct_rkey_release(ctx.component, &keys[i]);
}

struct SizeCase {
    size_t len;
    bool short_ok, bcopy_ok;
};

// Put and get of many sizes at odd offsets, local memory VE or host, with
// local and remote offsets congruent modulo 4 (direct DMA) or not (staged).
// put_short is a store (no DMA) by default, VE DMA with UCX_VESHM_SHORT_PIO=n
// (short_dma); bcopy and zcopy up to UCX_VESHM_PIO_MAX are stores and loads
// through the host view, VE DMA with UCX_VESHM_PIO_MAX=0 (short_dma too): the
// transport's DMA and host-view counters tell which it was.
class UctVeshmData : public UctVeshm {
  protected:
    bool short_dma = false;
    static constexpr size_t kPioMax = 4 << 20; // UCX_VESHM_PIO_MAX's default

  public:
    void run(bool ve_local, const std::vector<size_t> &sizes, size_t loff, size_t roff) {
        size_t max = 0;
        for (size_t s : sizes)
            max = std::max(max, s);
        remote(ALLOC_MD, max + roff + 64);
        LocalBuf lb(ctx, max + loff + 64, ve_local);
        uint8_t *local = lb.p + loff;
        uint32_t seed = 1;
        for (size_t len : sizes) {
            std::vector<Method> methods{ZCOPY};
            if (len <= ctx.iface_attr.cap.put.max_short)
                methods.push_back(SHORT);
            if (len <= ctx.iface_attr.cap.put.max_bcopy)
                methods.push_back(BCOPY);
            for (Method m : methods) {
                ++seed;
                SCOPED_TRACE("put len " + std::to_string(len) + " method " + std::to_string(m));
                uct_test_fill(local, len, 0, seed);
                // Guard bytes around the target must survive.
                ASSERT_EQ(peer.call(PEER_FILL, 0, roff - 3, len + 6, 1000 + seed).status, UCS_OK);
                uint64_t posts0, posts1, pio0, pio1;
                uct_veshm_dma_stats(&posts0, nullptr);
                uct_veshm_pio_stats(&pio0, nullptr);
                ASSERT_EQ(put(m, local, lb.memh, len, raddr + roff), UCS_OK);
                ASSERT_EQ(flush(), UCS_OK);
                uct_veshm_dma_stats(&posts1, nullptr);
                uct_veshm_pio_stats(&pio1, nullptr);
                // Whole aligned words move by DMA: from 7 bytes on there is one.
                if (!short_dma && len <= kPioMax) {
                    EXPECT_EQ(posts1, posts0) << "put posted DMA instead of stores";
                    EXPECT_EQ(pio1 - pio0, len) << "put not stored through the host view";
                } else if (len >= 7) {
                    EXPECT_GT(posts1, posts0) << "put moved no data by VE DMA";
                    EXPECT_EQ(pio1, pio0) << "put stored through the host view";
                }
                ASSERT_EQ(remote_hash(roff, len), uct_test_hash(local, len));
                ASSERT_EQ(remote_hash(roff - 3, 3),
                          uct_test_pattern_hash(roff - 3, 3, 1000 + seed));
                ASSERT_EQ(remote_hash(roff + len, 3),
                          uct_test_pattern_hash(roff + len, 3, 1000 + seed));
            }
            std::vector<Method> gmethods{ZCOPY};
            if (len <= ctx.iface_attr.cap.get.max_bcopy)
                gmethods.push_back(BCOPY);
            for (Method m : gmethods) {
                ++seed;
                SCOPED_TRACE("get len " + std::to_string(len) + " method " + std::to_string(m));
                ASSERT_EQ(peer.call(PEER_FILL, 0, roff, len, seed).status, UCS_OK);
                memset(local - std::min(loff, (size_t)3), 0xee, len + 6);
                uint64_t gposts0, gposts1, gpio0, gpio1;
                uct_veshm_dma_stats(&gposts0, nullptr);
                uct_veshm_pio_stats(nullptr, &gpio0);
                ASSERT_EQ(get(m, local, lb.memh, len, raddr + roff), UCS_OK);
                uct_veshm_dma_stats(&gposts1, nullptr);
                uct_veshm_pio_stats(nullptr, &gpio1);
                if (!short_dma && len <= kPioMax) {
                    EXPECT_EQ(gposts1, gposts0) << "get posted DMA instead of loads";
                    EXPECT_EQ(gpio1 - gpio0, len) << "get not loaded through the host view";
                } else if (len >= 7) {
                    EXPECT_GT(gposts1, gposts0) << "get moved no data by VE DMA";
                    EXPECT_EQ(gpio1, gpio0) << "get loaded through the host view";
                }
                ASSERT_EQ(uct_test_hash(local, len), uct_test_pattern_hash(roff, len, seed));
                ASSERT_EQ(local[len], 0xee) << "get wrote past its end";
                if (loff > 0) {
                    ASSERT_EQ(local[-1], 0xee) << "get wrote before its start";
                }
            }
        }
    }
};

// 1-65: every branch of the small copy through the host view
// (uct_veshm_pio_copy) and its edges.
const std::vector<size_t> kSmall{1,   2,   3,    4,    5,    6,     7,     8,      11,
                                 13,  16,  17,   31,   32,   33,    48,    64,     65,
                                 255, 256, 2047, 2048, 4093, 65535, 65536, 131071, 131072};

TEST_F(UctVeshmData, SmallVeLocalCongruent) {
    run(true, kSmall, 1, 5);
}
TEST_F(UctVeshmData, SmallVeLocalMisaligned) {
    run(true, kSmall, 2, 7);
}
TEST_F(UctVeshmData, SmallHostLocal) {
    run(false, kSmall, 3, 9);
}
TEST_F(UctVeshmData, LargeVeLocalCongruent) {
    run(true, {kMiB + 1, 16 * kMiB + 3, 64 * kMiB + 7, 256 * kMiB}, 1, 64 * kMiB - 3);
}
TEST_F(UctVeshmData, LargeVeLocalMisaligned) {
    run(true, {kMiB + 1, 70 * kMiB + 3}, 3, 64 * kMiB - 2);
}
TEST_F(UctVeshmData, LargeHostLocal) {
    run(false, {kMiB + 1, 20 * kMiB + 5}, 1, 11);
}

// Everything as VE DMA (UCX_VESHM_SHORT_PIO=n, UCX_VESHM_PIO_MAX=0) instead
// of stores and loads through the host view.
class UctVeshmDmaShort : public UctVeshmData {
    void SetUp() override {
        setenv("UCX_VESHM_SHORT_PIO", "n", 1);
        setenv("UCX_VESHM_PIO_MAX", "0", 1);
        short_dma = true;
        UctVeshmData::SetUp();
    }
    void TearDown() override {
        UctVeshmData::TearDown();
        unsetenv("UCX_VESHM_SHORT_PIO");
        unsetenv("UCX_VESHM_PIO_MAX");
    }
};
TEST_F(UctVeshmDmaShort, SmallVeLocal) {
    run(true, kSmall, 1, 5);
}
TEST_F(UctVeshmDmaShort, SmallHostLocalMisaligned) {
    run(false, kSmall, 2, 7);
}

// DMA pieces of 1 MiB (UCX_VESHM_DMA_CHUNK): above what the poster copies
// at post time (up to 256 KiB when the DMA engine thread shares its CPUs),
// so a put stays in flight on the engine thread after the call.
class UctVeshmEngineDma : public UctVeshm {
    void SetUp() override {
        setenv("UCX_VESHM_DMA_CHUNK", "1m", 1);
        UctVeshm::SetUp();
    }
    void TearDown() override {
        UctVeshm::TearDown();
        unsetenv("UCX_VESHM_DMA_CHUNK");
    }
};

TEST_F(UctVeshmEngineDma, FenceOrdersPutsAndGets) {
    // Behind a big put and a fence, small operations all over its range: each
    // must see the big put done. Without the fence they would start at once
    // (a store, or a DMA descriptor that progress copies, newest first),
    // while most of the big put's descriptors still wait: those would land
    // after them. 12 MiB: above what a call finishes by itself (4 MiB), and
    // all of it in the DMA ring at once (12 descriptors), so that nothing but
    // the fence holds the small ones back.
    const size_t big = 12 * kMiB, step = big / 32, probes = 32, piece = 4096;
    remote(ALLOC_MD, 64 * kMiB);
    LocalBuf a(ctx, big, true);
    for (int round = 0; round < 3; ++round) {
        uct_test_fill(a.p, big, 0, 21 + round);
        Completion c;
        c.comp = {on_done, 1, UCS_OK};
        uct_iov_t iov{a.p, big, a.memh, 0, 1};
        ucs_status_t s = uct_ep_put_zcopy(ep, &iov, 1, raddr, rkey.rkey, &c.comp);
        // Still moving, so the fence has something to order.
        ASSERT_EQ(s, UCS_INPROGRESS);
        ASSERT_EQ(uct_ep_fence(ep, 0), UCS_OK);
        std::vector<uint64_t> values(probes);
        for (size_t k = 0; k < probes; ++k) {
            values[k] = 0x1122334455660000ull + 256 * round + k;
            ASSERT_EQ(put(SHORT, reinterpret_cast<uint8_t *>(&values[k]), nullptr, 8,
                          raddr + k * step + 64),
                      UCS_OK);
        }
        ASSERT_EQ(wait(s, c), UCS_OK);
        ASSERT_EQ(flush(), UCS_OK);
        size_t lost = 0;
        for (size_t k = 0; k < probes; ++k) {
            lost += remote_hash(k * step + 64, 8) != uct_test_hash(&values[k], 8);
            EXPECT_EQ(remote_hash(k * step, 64), uct_test_hash(a.p + k * step, 64));
        }
        EXPECT_EQ(lost, 0u) << "round " << round << ": puts after the fence overwritten by the put "
                            << "before it";
    }
    // Gets behind a put and a fence see its data.
    LocalBuf back(ctx, probes * piece, true);
    for (int round = 0; round < 3; ++round) {
        uct_test_fill(a.p, big, 0, 31 + round);
        Completion c;
        c.comp = {on_done, 1, UCS_OK};
        uct_iov_t iov{a.p, big, a.memh, 0, 1};
        ucs_status_t s = uct_ep_put_zcopy(ep, &iov, 1, raddr, rkey.rkey, &c.comp);
        ASSERT_EQ(s, UCS_INPROGRESS);
        ASSERT_EQ(uct_ep_fence(ep, 0), UCS_OK);
        for (size_t k = 0; k < probes; ++k)
            ASSERT_EQ(get(ZCOPY, back.p + k * piece, back.memh, piece, raddr + k * step + 128),
                      UCS_OK);
        ASSERT_EQ(wait(s, c), UCS_OK);
        size_t stale = 0;
        for (size_t k = 0; k < probes; ++k)
            stale += uct_test_hash(back.p + k * piece, piece) !=
                     uct_test_hash(a.p + k * step + 128, piece);
        EXPECT_EQ(stale, 0u) << "round " << round << ": gets after the fence read old data";
    }
}

// Errors UCX's parameter checks report, captured while a case runs.
struct LogCapture {
    static std::vector<std::string> &lines() {
        static std::vector<std::string> l;
        return l;
    }
    static ucs_log_func_rc_t handler(const char *, unsigned, const char *, ucs_log_level_t level,
                                     const ucs_log_component_config_t *, const char *message,
                                     va_list ap) {
        if (level > UCS_LOG_LEVEL_ERROR)
            return UCS_LOG_FUNC_RC_CONTINUE;
        char buf[512];
        vsnprintf(buf, sizeof(buf), message, ap);
        lines().push_back(buf);
        return UCS_LOG_FUNC_RC_STOP;
    }
    LogCapture() {
        lines().clear();
        ucs_log_push_handler(handler);
    }
    ~LogCapture() { ucs_log_pop_handler(); }
    bool has(const char *what) const {
        for (auto &l : lines())
            if (l.find(what) != std::string::npos)
                return true;
        return false;
    }
};

// A zero-length operation may carry no buffer and UCT_INVALID_RKEY (UCX's
// own suite sends exactly that): the transport must not look at either.
TEST_F(UctVeshm, ZeroLengthOperationsIgnoreTheKey) {
    remote(ALLOC_MD, 4096);
    EXPECT_EQ(uct_ep_put_short(ep, nullptr, 0, 0, UCT_INVALID_RKEY), UCS_OK);
    uct_iov_t iov{nullptr, 0, UCT_MEM_HANDLE_NULL, 0, 1};
    Completion c;
    c.comp = {on_done, 1, UCS_OK};
    EXPECT_EQ(uct_ep_put_zcopy(ep, &iov, 1, 0, UCT_INVALID_RKEY, &c.comp), UCS_OK);
    EXPECT_EQ(uct_ep_get_zcopy(ep, &iov, 1, 0, UCT_INVALID_RKEY, &c.comp), UCS_OK);
    // put_bcopy learns its length only from the packer: an empty one too.
    EXPECT_EQ(uct_ep_put_bcopy(
                  ep, [](void *, void *) -> size_t { return 0; }, nullptr, 0, UCT_INVALID_RKEY),
              0);
    EXPECT_FALSE(c.done) << "a completed operation must not call its completion";
    EXPECT_EQ(flush(), UCS_OK);
}

// Lengths above the advertised maxima are refused with UCS_ERR_INVALID_PARAM
// and an "Invalid length" error, and nothing reaches the peer.
TEST_F(UctVeshm, LengthsAboveTheMaximaAreInvalid) {
    remote(ALLOC_MD, 1 * kMiB);
    ASSERT_EQ(peer.call(PEER_FILL, 0, 0, 64 * 1024, 7).status, UCS_OK);
    uint64_t before = remote_hash(0, 64 * 1024);
    size_t max_short = ctx.iface_attr.cap.put.max_short;
    std::vector<uint8_t> big(std::max(ctx.iface_attr.cap.get.max_bcopy + 1, max_short + 2), 0xab);
    {
        LogCapture log;
        EXPECT_EQ(uct_ep_put_short(ep, big.data(), (unsigned)max_short + 1, raddr, rkey.rkey),
                  UCS_ERR_INVALID_PARAM);
        EXPECT_TRUE(log.has("Invalid put_short length"));
    }
    {
        LogCapture log;
        Completion c;
        c.comp = {on_done, 1, UCS_OK};
        EXPECT_EQ(uct_ep_get_bcopy(
                      ep, [](void *, const void *, size_t) {}, nullptr, big.size(), raddr,
                      rkey.rkey, &c.comp),
                  UCS_ERR_INVALID_PARAM);
        EXPECT_TRUE(log.has("Invalid get_bcopy length"));
    }
    {
        LogCapture log;
        std::vector<uct_iov_t> iov(ctx.iface_attr.cap.put.max_iov + 1,
                                   uct_iov_t{big.data(), 1, UCT_MEM_HANDLE_NULL, 0, 1});
        Completion c;
        c.comp = {on_done, 1, UCS_OK};
        EXPECT_EQ(uct_ep_put_zcopy(ep, iov.data(), iov.size(), raddr, rkey.rkey, &c.comp),
                  UCS_ERR_INVALID_PARAM);
        EXPECT_TRUE(log.has("iovcnt"));
    }
    EXPECT_EQ(flush(), UCS_OK);
    EXPECT_EQ(remote_hash(0, 64 * 1024), before) << "a refused operation wrote to the peer";
}

TEST_F(UctVeshm, ManyOutstandingThenFlush) {
    remote(ALLOC_MD, 64 * kMiB);
    LocalBuf a(ctx, 64 * kMiB, true);
    uct_test_fill(a.p, 64 * kMiB, 0, 33);
    std::vector<Completion> cs(256);
    size_t piece = 256 * 1024 + 4;
    int started = 0;
    for (size_t i = 0; i < cs.size() && (i + 1) * piece < 64 * kMiB; ++i) {
        cs[i].comp = {on_done, 1, UCS_OK};
        uct_iov_t iov{a.p + i * piece, piece, a.memh, 0, 1};
        ucs_status_t s = uct_ep_put_zcopy(ep, &iov, 1, raddr + i * piece, rkey.rkey, &cs[i].comp);
        ASSERT_TRUE(s == UCS_OK || s == UCS_INPROGRESS) << ucs_status_string(s);
        if (s == UCS_OK)
            cs[i].done = true;
        ++started;
    }
    ASSERT_EQ(flush(), UCS_OK);
    for (int i = 0; i < started; ++i)
        EXPECT_TRUE(cs[i].done) << i;
    EXPECT_EQ(remote_hash(0, started * piece), uct_test_hash(a.p, started * piece));
}

// A pending request that puts value at raddr when called.
struct PendingPut {
    uct_pending_req_t req;
    uct_ep_h ep;
    uint64_t value, raddr;
    uct_rkey_t rkey;
    int calls = 0;
    PendingPut(uct_ep_h e, uint64_t v, uint64_t addr, uct_rkey_t k)
        : ep(e), value(v), raddr(addr), rkey(k) {
        req.func = [](uct_pending_req_t *r) -> ucs_status_t {
            auto *pp = reinterpret_cast<PendingPut *>(r);
            ++pp->calls;
            return uct_ep_put_short(pp->ep, &pp->value, 8, pp->raddr, pp->rkey);
        };
    }
    // Finds no resources for the put now, and waits in the pending queue.
    void queue() {
        ASSERT_EQ(uct_ep_put_short(ep, &value, 8, raddr, rkey), UCS_ERR_NO_RESOURCE);
        ASSERT_EQ(uct_ep_pending_add(ep, &req, 0), UCS_OK);
    }
};

TEST_F(UctVeshm, PendingQueueResumesWhenResourcesFree) {
    remote(ALLOC_MD, 128 * kMiB);
    LocalBuf a(ctx, 128 * kMiB, true);
    uct_test_fill(a.p, 128 * kMiB, 0, 44);
    // More large transfers than the DMA ring holds (the first alone takes 32
    // descriptors, and nothing reaps them until progress): the rest wait.
    const size_t piece = 300 * 1024, first = 32 * kMiB;
    const int n = 300;
    std::vector<Completion> cs(n);
    for (int i = 0; i < n; ++i) {
        cs[i].comp = {on_done, 1, UCS_OK};
        size_t len = i == 0 ? first : piece;
        size_t off = i == 0 ? 0 : first + (i - 1) * piece;
        uct_iov_t iov{a.p + off, len, a.memh, 0, 1};
        ucs_status_t s = uct_ep_put_zcopy(ep, &iov, 1, raddr + off, rkey.rkey, &cs[i].comp);
        ASSERT_TRUE(s == UCS_OK || s == UCS_INPROGRESS);
        cs[i].done = s == UCS_OK;
    }
    const size_t total = first + (n - 1) * piece;
    PendingPut p(ep, 0x0102030405060708ull, raddr + total + 8, rkey.rkey);
    ASSERT_NO_FATAL_FAILURE(p.queue());
    auto t0 = std::chrono::steady_clock::now();
    while (p.calls == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
        progress();
    EXPECT_GE(p.calls, 1);
    ASSERT_EQ(flush(), UCS_OK);
    for (int i = 0; i < n; ++i)
        EXPECT_TRUE(cs[i].done) << i;
    EXPECT_EQ(remote_hash(0, total), uct_test_hash(a.p, total));
    EXPECT_EQ(remote_hash(total + 8, 8), uct_test_hash(&p.value, 8));
}

TEST_F(UctVeshm, IfaceFenceFinishesStartedTransfers) {
    // ucp_worker_fence fences each interface alone, and osc/ucx completes
    // MPI_Rput with an atomic that may travel over another transport: when
    // uct_iface_fence returns, the data of earlier operations has moved, so
    // the origin buffer may change. Completion callbacks wait for progress.
    const size_t big = 32 * kMiB; // above what a call finishes by itself
    remote(ALLOC_MD, 64 * kMiB);
    LocalBuf a(ctx, big, false);
    uct_test_fill(a.p, big, 0, 55);
    const uint64_t sent = uct_test_hash(a.p, big);
    Completion c;
    c.comp = {on_done, 1, UCS_OK};
    uct_iov_t iov{a.p, big, a.memh, 0, 1};
    ucs_status_t s = uct_ep_put_zcopy(ep, &iov, 1, raddr, rkey.rkey, &c.comp);
    ASSERT_EQ(s, UCS_INPROGRESS);
    ASSERT_EQ(uct_iface_fence(ctx.iface, 0), UCS_OK);
    EXPECT_FALSE(c.done) << "completion called from inside the fence";
    memset(a.p, 0, big);
    EXPECT_EQ(remote_hash(0, big), sent);
    ASSERT_EQ(wait(s, c), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
}

// A 96 MiB put in flight and a fence behind it: later operations find no
// resources until it completes.
class UctVeshmBusy : public UctVeshm {
  protected:
    static constexpr size_t kBig = 96 * kMiB;
    // A put_zcopy of kBig (more than the DMA ring takes at once, so part of
    // it stays queued to be posted), then, if fence, a fence.
    void make_busy(bool fence = true) {
        remote(ALLOC_MD, 128 * kMiB);
        a = std::make_unique<LocalBuf>(ctx, kBig, true);
        uct_test_fill(a->p, kBig, 0, 41);
        big.comp = {on_done, 1, UCS_OK};
        uct_iov_t iov{a->p, kBig, a->memh, 0, 1};
        big_status = uct_ep_put_zcopy(ep, &iov, 1, raddr, rkey.rkey, &big.comp);
        ASSERT_EQ(big_status, UCS_INPROGRESS);
        if (fence) {
            ASSERT_EQ(uct_ep_fence(ep, 0), UCS_OK);
        }
    }
    void TearDown() override {
        a.reset();
        UctVeshm::TearDown();
    }
    std::unique_ptr<LocalBuf> a;
    Completion big;
    ucs_status_t big_status = UCS_OK;
};

TEST_F(UctVeshmBusy, NothingOvertakesAPendingRequest) {
    make_busy();
    Completion more;
    more.comp = {on_done, 1, UCS_OK};
    uct_iov_t iov2{a->p, 4096, a->memh, 0, 1};
    ucs_status_t s2 = uct_ep_put_zcopy(ep, &iov2, 1, raddr + 100 * kMiB, rkey.rkey, &more.comp);
    ASSERT_EQ(s2, UCS_INPROGRESS); // behind the fence
    PendingPut p(ep, 0x1111111111111111ull, raddr + 120 * kMiB, rkey.rkey);
    ASSERT_NO_FATAL_FAILURE(p.queue());
    // While it waits, later operations of every kind must wait too.
    uint64_t v = 0x2222222222222222ull, old = 0;
    EXPECT_EQ(uct_ep_put_short(ep, &v, 8, p.raddr, rkey.rkey), UCS_ERR_NO_RESOURCE);
    EXPECT_EQ(uct_ep_atomic64_post(ep, UCT_ATOMIC_OP_ADD, 1, p.raddr, rkey.rkey),
              UCS_ERR_NO_RESOURCE);
    EXPECT_EQ(uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 0, &old, p.raddr, rkey.rkey, nullptr),
              UCS_ERR_NO_RESOURCE);
    uct_iov_t iov3{reinterpret_cast<uint8_t *>(&v), 8, UCT_MEM_HANDLE_NULL, 0, 1};
    Completion third;
    third.comp = {on_done, 1, UCS_OK};
    EXPECT_EQ(uct_ep_put_zcopy(ep, &iov3, 1, p.raddr, rkey.rkey, &third.comp), UCS_ERR_NO_RESOURCE);
    ASSERT_EQ(wait(big_status, big), UCS_OK);
    ASSERT_EQ(wait(s2, more), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    EXPECT_EQ(p.calls, 1);
    EXPECT_EQ(remote_hash(120 * kMiB, 8), uct_test_hash(&p.value, 8));
}

// Behind a transfer still queued to be posted (no fence: 96 MiB of zcopy is
// more than the DMA ring takes at once), later operations wait: a put_short,
// a get_bcopy and atomics answer UCS_ERR_NO_RESOURCE instead of going
// through the host view at once (the fast paths' one-word test,
// veshm_op_int.h, must see the queue), and a put to the transfer's last
// bytes made after it lands after it.
TEST_F(UctVeshmBusy, NothingOvertakesDataQueuedToPost) {
    make_busy(false);
    const uint64_t at = kBig - 64;
    uint64_t v = 0x3333333333333333ull, old = 0, got = 0;
    EXPECT_EQ(uct_ep_put_short(ep, &v, 8, raddr + at, rkey.rkey), UCS_ERR_NO_RESOURCE);
    EXPECT_EQ(uct_ep_get_bcopy(
                  ep, [](void *arg, const void *data, size_t len) { memcpy(arg, data, len); }, &got,
                  8, raddr + at, rkey.rkey, nullptr),
              UCS_ERR_NO_RESOURCE);
    EXPECT_EQ(uct_ep_atomic64_post(ep, UCT_ATOMIC_OP_ADD, 1, raddr + at, rkey.rkey),
              UCS_ERR_NO_RESOURCE);
    EXPECT_EQ(uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 0, &old, raddr + at, rkey.rkey, nullptr),
              UCS_ERR_NO_RESOURCE);
    ASSERT_EQ(put(SHORT, reinterpret_cast<uint8_t *>(&v), nullptr, 8, raddr + at), UCS_OK);
    ASSERT_EQ(wait(big_status, big), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    EXPECT_EQ(remote_hash(at, 8), uct_test_hash(&v, 8)) << "the put landed before the zcopy";
    EXPECT_EQ(remote_hash(at - 4096, 4096), uct_test_hash(a->p + at - 4096, 4096));
}

// Atomics reach only aligned words inside the region the key names: the
// last words are reachable (the usual path through the key's host view), a
// word across the end (the region is 64 KiB + 4 of VE memory), past it,
// before the start or misaligned is UCS_ERR_INVALID_PARAM and changes
// nothing.
TEST_F(UctVeshm, AtomicsReachOnlyAlignedWordsOfTheRegion) {
    const size_t n = 64 * 1024 + 4;
    remote(ALLOC_VE_REG_TWICE, n);
    ASSERT_EQ(rinfo.region_len, n);
    const uint32_t seed = 9;
    // 64 bytes more: the VE allocation goes on to its page's end, and a
    // word across the region's end must not change them either.
    ASSERT_EQ(peer.call(PEER_FILL, 0, 0, n + 64, seed).status, UCS_OK);
    const uint64_t before = remote_hash(0, n + 64);
    uint64_t old64 = 0;
    uint32_t old32 = 0;
    EXPECT_EQ(
        uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 1, &old64, raddr + n - 4, rkey.rkey, nullptr),
        UCS_ERR_INVALID_PARAM)
        << "a word across the end";
    EXPECT_EQ(uct_ep_atomic32_post(ep, UCT_ATOMIC_OP_ADD, 1, raddr + n, rkey.rkey),
              UCS_ERR_INVALID_PARAM)
        << "past the end";
    EXPECT_EQ(uct_ep_atomic64_post(ep, UCT_ATOMIC_OP_ADD, 1, raddr + 4, rkey.rkey),
              UCS_ERR_INVALID_PARAM)
        << "misaligned";
    EXPECT_EQ(
        uct_ep_atomic32_fetch(ep, UCT_ATOMIC_OP_XOR, 1, &old32, raddr - 4, rkey.rkey, nullptr),
        UCS_ERR_INVALID_PARAM)
        << "before the start";
    EXPECT_EQ(remote_hash(0, n + 64), before);

    uint64_t last;
    uint32_t end;
    uct_test_fill(&last, 8, n - 12, seed);
    uct_test_fill(&end, 4, n - 4, seed);
    ASSERT_EQ(
        uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 5, &old64, raddr + n - 12, rkey.rkey, nullptr),
        UCS_OK);
    EXPECT_EQ(old64, last);
    last += 5;
    EXPECT_EQ(remote_hash(n - 12, 8), uct_test_hash(&last, 8));
    ASSERT_EQ(uct_ep_atomic32_fetch(ep, UCT_ATOMIC_OP_XOR, 0xff, &old32, raddr + n - 4, rkey.rkey,
                                    nullptr),
              UCS_OK);
    EXPECT_EQ(old32, end);
    end ^= 0xff;
    EXPECT_EQ(remote_hash(n - 4, 4), uct_test_hash(&end, 4));
}

// The fast paths' entry points start a cache line (veshm_ep.c): in one build
// where the atomic add's entry did not, it took 52 ns on lines the peer had
// just written against 36 ns with the same code on a line boundary.
TEST_F(UctVeshm, FastPathEntriesStartACacheLine) {
    const uct_iface_ops_t &o = ctx.iface->ops;
    const std::pair<const char *, uintptr_t> entries[] = {
        {"put_short", reinterpret_cast<uintptr_t>(o.ep_put_short)},
        {"get_bcopy", reinterpret_cast<uintptr_t>(o.ep_get_bcopy)},
        {"atomic32_post", reinterpret_cast<uintptr_t>(o.ep_atomic32_post)},
        {"atomic64_post", reinterpret_cast<uintptr_t>(o.ep_atomic64_post)},
        {"atomic32_fetch", reinterpret_cast<uintptr_t>(o.ep_atomic32_fetch)},
        {"atomic64_fetch", reinterpret_cast<uintptr_t>(o.ep_atomic64_fetch)},
        {"atomic_cswap32", reinterpret_cast<uintptr_t>(o.ep_atomic_cswap32)},
        {"atomic_cswap64", reinterpret_cast<uintptr_t>(o.ep_atomic_cswap64)},
    };
    for (const auto &[name, entry] : entries)
        EXPECT_EQ(entry % UCS_SYS_CACHE_LINE_SIZE, 0u) << name << " at " << std::hex << entry;
}

// Past the key's run of host views (the attachments of consecutive areas are
// mapped apart, so the run ends with the first area) an atomic takes the
// out-of-line path: every kind must give the results it gives in the run.
TEST_F(UctVeshm, AtomicsPastTheHostViewRunGiveTheSameResults) {
    remote(ALLOC_MD, 64 * kMiB + 4096);
    const auto *k = reinterpret_cast<const uct_veshm_rkey_t *>(rkey.rkey);
    ASSERT_GT(rinfo.area_count, 1u);
    ASSERT_LT(k->pio_len, rinfo.region_len) << "the run holds the whole region";
    const uint32_t seed = 21;
    for (uint64_t off : {uint64_t(64), (k->pio_len + 64) & ~uint64_t(7)}) {
        SCOPED_TRACE(off < k->pio_len ? "in the run" : "past the run");
        ASSERT_EQ(peer.call(PEER_FILL, 0, off, 32, seed).status, UCS_OK);
        uint64_t w[4];
        uct_test_fill(w, sizeof w, off, seed);
        uint64_t old64 = 0;
        uint32_t old32 = 0;
        ASSERT_EQ(uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 5, &old64, raddr + off, rkey.rkey,
                                        nullptr),
                  UCS_OK);
        EXPECT_EQ(old64, w[0]);
        w[0] += 5;
        uint32_t lo;
        memcpy(&lo, &w[1], 4);
        ASSERT_EQ(uct_ep_atomic32_fetch(ep, UCT_ATOMIC_OP_XOR, 0xf0f0, &old32, raddr + off + 8,
                                        rkey.rkey, nullptr),
                  UCS_OK);
        EXPECT_EQ(old32, lo);
        lo ^= 0xf0f0;
        memcpy(&w[1], &lo, 4);
        ASSERT_EQ(uct_ep_atomic_cswap64(ep, w[2], 77, raddr + off + 16, rkey.rkey, &old64, nullptr),
                  UCS_OK);
        EXPECT_EQ(old64, w[2]) << "a compare that matches";
        w[2] = 77;
        uint32_t hi;
        memcpy(&hi, reinterpret_cast<uint8_t *>(&w[3]) + 4, 4);
        ASSERT_EQ(
            uct_ep_atomic_cswap32(ep, hi + 1, 9, raddr + off + 28, rkey.rkey, &old32, nullptr),
            UCS_OK);
        EXPECT_EQ(old32, hi) << "a compare that does not match";
        ASSERT_EQ(uct_ep_atomic64_post(ep, UCT_ATOMIC_OP_ADD, 3, raddr + off, rkey.rkey), UCS_OK);
        w[0] += 3;
        EXPECT_EQ(remote_hash(off, sizeof w), uct_test_hash(w, sizeof w));
    }
}

struct TwoStepRequest {
    uct_pending_req_t req;
    int calls = 0;
};

TEST_F(UctVeshmBusy, PendingRequestInProgressIsCalledAgain) {
    // UCS_INPROGRESS from a pending callback: it made progress and stays
    // queued (UCP's multi-fragment requests answer so).
    make_busy();
    uint64_t v = 7;
    ASSERT_EQ(uct_ep_put_short(ep, &v, 8, raddr + 100 * kMiB, rkey.rkey), UCS_ERR_NO_RESOURCE);
    TwoStepRequest t;
    t.req.func = [](uct_pending_req_t *r) -> ucs_status_t {
        auto *tt = reinterpret_cast<TwoStepRequest *>(r);
        return ++tt->calls < 2 ? UCS_INPROGRESS : UCS_OK;
    };
    ASSERT_EQ(uct_ep_pending_add(ep, &t.req, 0), UCS_OK);
    ASSERT_EQ(wait(big_status, big), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    EXPECT_EQ(t.calls, 2);
}

TEST_F(UctVeshm, RmaIsVeDma) {
    remote(ALLOC_MD, 64 * kMiB);
    LocalBuf a(ctx, 8 * kMiB, true);
    uint64_t p0, b0, p1, b1;
    uct_veshm_dma_stats(&p0, &b0);
    ASSERT_EQ(put(ZCOPY, a.p, a.memh, 8 * kMiB, raddr), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    uct_veshm_dma_stats(&p1, &b1);
    EXPECT_GE(b1 - b0, 8 * kMiB);
}

// VE memory the MD registers (not allocates) has its areas opened when a key
// of it is first packed or a DMA first needs them, not at registration: UCP
// registers the local buffer of every zcopy, and most never need either.
TEST_F(UctVeshm, VeRegistrationOpensItsAreasOnFirstNeed) {
    remote(ALLOC_MD, 64 * kMiB);
    VeoProcHandle *h = nullptr;
    for (int n = 0; h == nullptr && n < veo_emu_node_count(); ++n)
        h = veo_emu_proc_find(n);
    ASSERT_NE(h, nullptr);
    // One VESHM area each (areas are granules), none shared with another.
    const size_t n = rinfo.granule;
    ASSERT_LE(n, 64 * kMiB);
    void *hmem[3] = {};
    uint8_t *p[3];
    uct_mem_h memh[3];
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(veo_posix_memalign_hmem(h, &hmem[i], n, n), 0);
        p[i] = static_cast<uint8_t *>(veo_emu_hmem_to_vh(hmem[i]));
        ASSERT_NE(p[i], nullptr);
        ASSERT_EQ(uct_md_mem_reg(ctx.md, p[i], n, UCT_MD_MEM_ACCESS_ALL, &memh[i]), UCS_OK);
        EXPECT_FALSE(uct_veshm_md_exported(p[i], n)) << "registration " << i << " alone";
    }
    // Packed: open, for peers to attach; deregistered: closed again.
    std::vector<uint8_t> packed(ctx.md_attr.rkey_packed_size);
    ASSERT_EQ(uct_md_mkey_pack(ctx.md, memh[0], packed.data()), UCS_OK);
    EXPECT_TRUE(uct_veshm_md_exported(p[0], n));
    // A DMA source: opened then, and every byte arrives.
    uct_test_fill(p[1], n, 0, 13);
    uint64_t p0, b0, p1, b1;
    uct_veshm_dma_stats(&p0, &b0);
    ASSERT_EQ(put(ZCOPY, p[1], memh[1], n, raddr), UCS_OK);
    ASSERT_EQ(flush(), UCS_OK);
    uct_veshm_dma_stats(&p1, &b1);
    EXPECT_GE(b1 - b0, n) << "the put was to be VE DMA";
    EXPECT_EQ(remote_hash(0, n), uct_test_hash(p[1], n));
    EXPECT_TRUE(uct_veshm_md_exported(p[1], n));
    // Never needed: never opened, and its deregistration closes nothing.
    EXPECT_FALSE(uct_veshm_md_exported(p[2], n));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(uct_md_mem_dereg(ctx.md, memh[i]), UCS_OK);
        EXPECT_FALSE(uct_veshm_md_exported(p[i], n)) << "deregistered " << i;
        EXPECT_EQ(veo_free_hmem(hmem[i]), 0);
    }
}

// Host buffers are DMA sources and targets through registrations the
// transport caches (16 of them) beyond the memory handles: many buffers
// (eviction), and a buffer unmapped and another mapped at the same address
// while its registration is still cached.
// Whether the kernel lets the peer (our child) reach this process's memory
// with process_vm_readv: root, or no Yama restriction beyond the classic one.
bool peer_may_reach_us() {
    if (geteuid() == 0)
        return true;
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
    int scope = 0;
    if (f != nullptr) {
        if (fscanf(f, "%d", &scope) != 1)
            scope = 0;
        fclose(f);
    }
    return scope == 0;
}

// Puts, then gets, of buf to and from the peer's memory at off while the
// peer polls: every byte must arrive. Whether the peer runs during a given
// copy is the scheduler's choice, so with part helped* the copies repeat
// until it has helped with one (veshm_help.h), and it must have seen buf
// through its own view (helped_through_view) or never; with part nothing
// they go on for most of a second, and it must have done no chunk of them.
void UctVeshm::copies_while_peer_polls(LocalBuf &buf, size_t n, uint64_t off, PeerPart part) {
    const bool until_helped = part != PeerPart::nothing;
    // The peer helps only while it runs beside this process (run_apart.h).
    run_apart self, other;
    run_apart_begin(&self, 0, 0);
    run_apart_begin(&other, peer.pid, 1);
    struct Unpin {
        run_apart *a, *b;
        ~Unpin() {
            run_apart_end(a);
            run_apart_end(b);
        }
    } unpin{&self, &other};
    for (int is_get = 0; is_get < 2; ++is_get) {
        SCOPED_TRACE(is_get ? "get" : "put");
        const uint32_t seed = 31 + is_get;
        if (is_get) {
            ASSERT_EQ(peer.call(PEER_FILL, 0, off, n, seed).status, UCS_OK);
        } else {
            uct_test_fill(buf.p, n, 0, seed);
        }
        uint64_t helped0 = 0, helped = 0;
        uct_veshm_help_stats(&helped0, nullptr);
        // The peer polls until it has copied a chunk, or for a, in ms.
        peer_request_t req{PEER_PROGRESS, 0, until_helped ? 30000u : 1000u, 1, 0};
        ASSERT_EQ(uct_test_send(peer.fd, &req, sizeof(req)), 0);
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(800);
        unsigned copies = 0;
        for (helped = helped0; until_helped ? helped == helped0 && copies < 5000
                                            : copies < 20 || std::chrono::steady_clock::now() < end;
             ++copies) {
            if (is_get) {
                memset(buf.p, 0, n);
                ASSERT_EQ(get(ZCOPY, buf.p, buf.memh, n, raddr + off), UCS_OK);
                ASSERT_EQ(uct_test_hash(buf.p, n), uct_test_pattern_hash(off, n, seed))
                    << "copy " << copies;
            } else {
                ASSERT_EQ(put(ZCOPY, buf.p, buf.memh, n, raddr + off), UCS_OK);
            }
            uct_veshm_help_stats(&helped, nullptr);
        }
        peer_reply_t rep;
        ASSERT_EQ(uct_test_recv(peer.fd, &rep, sizeof(rep)), 0);
        if (until_helped) {
            EXPECT_GT(helped, helped0) << "the peer copied nothing of " << copies << " copies";
            EXPECT_GE(rep.value, helped - helped0)
                << "chunks we count as the peer's that it did not do";
        } else {
            EXPECT_EQ(helped, helped0) << "chunks of " << copies << " copies done by the peer";
            EXPECT_EQ(rep.value, 0u) << "chunks the peer copied of " << copies << " copies";
        }
        if (part == PeerPart::helped_through_view)
            EXPECT_GT(rep.length, 0u) << "no job through the peer's view";
        else
            EXPECT_EQ(rep.length, 0u) << "a job through a view the peer has no key for";
        if (!is_get) {
            EXPECT_EQ(remote_hash(off, n), uct_test_hash(buf.p, n));
        }
    }
}

TEST_F(UctVeshm, PeerHelpsLargeCopiesWhileItPolls) {
    if (!peer_may_reach_us())
        GTEST_SKIP() << "ptrace scope keeps the peer from reaching this process";
    const size_t n = 3 * kMiB + 8; // the last chunk is 8 bytes
    remote(ALLOC_MD, 4 * kMiB);
    LocalBuf buf(ctx, n, false);
    copies_while_peer_polls(buf, n, 24, PeerPart::helped);
}

// UCX_VESHM_HELP=n on one side: an origin with it offers no copy to its peer,
// a peer with it helps no origin. Either way, large puts and gets while the
// peer polls beside this process are all this process's, every byte right.
class UctVeshmHelpOff : public UctVeshm {
  protected:
    void SetUp() override {} // each test opens its two sides
    void open_sides(const char *local_help, const char *peer_help) {
        setenv("UCX_VESHM_HELP", local_help, 1);
        int opened = uct_test_open(&ctx);
        setenv("UCX_VESHM_HELP", peer_help, 1);
        if (opened == 0)
            peer.start();
        unsetenv("UCX_VESHM_HELP");
        ASSERT_EQ(opened, 0);
    }
    void copies_alone() {
        const size_t n = 3 * kMiB + 8;
        remote(ALLOC_MD, 4 * kMiB);
        LocalBuf buf(ctx, n, false);
        copies_while_peer_polls(buf, n, 24, PeerPart::nothing);
    }
};

TEST_F(UctVeshmHelpOff, OriginThatDoesNotShareCopiesAlone) {
    open_sides("n", "y");
    copies_alone();
}

TEST_F(UctVeshmHelpOff, PeerThatDoesNotHelpLeavesEveryChunkToTheOrigin) {
    if (!peer_may_reach_us())
        GTEST_SKIP() << "ptrace scope keeps the peer from reaching this process anyway";
    open_sides("y", "n");
    copies_alone();
}

// A peer that holds a key of the buffer a large put or get comes from (an
// OpenSHMEM symmetric heap) copies its chunks through its own view of it:
// with process_vm_readv/_writev denied to it (seccomp), it still helps, and
// every byte arrives.
TEST_F(UctVeshm, PeerHelpsThroughItsViewOfTheOriginsBuffer) {
    const size_t n = 3 * kMiB + 8;
    remote(ALLOC_MD, 4 * kMiB);
    LocalBuf buf(ctx, n, true);
    std::vector<uint8_t> packed(ctx.md_attr.rkey_packed_size);
    ASSERT_EQ(uct_md_mkey_pack(ctx.md, buf.memh, packed.data()), UCS_OK);
    peer_request_t unpack{PEER_UNPACK, 0, packed.size(), 0, 0};
    ASSERT_EQ(uct_test_send(peer.fd, &unpack, sizeof(unpack)), 0);
    ASSERT_EQ(uct_test_send(peer.fd, packed.data(), packed.size()), 0);
    peer_reply_t unpacked;
    ASSERT_EQ(uct_test_recv(peer.fd, &unpacked, sizeof(unpacked)), 0);
    ASSERT_EQ(unpacked.status, UCS_OK);
    ASSERT_EQ(peer.call(PEER_DENY_PVM).status, UCS_OK);
    copies_while_peer_polls(buf, n, 40, PeerPart::helped_through_view);
}

// A help job any process with an endpoint can write into the peer's FIFO must
// not make the peer copy into or out of memory it did not open for its peers,
// nor between its own buffers, nor do an operation other than a copy. The control: the same job
// aimed at the memory it did open is served, so the refusals are the checks', not a helper that
// never runs.
TEST_F(UctVeshm, ForgedHelpJobsAreRefused) {
    if (!peer_may_reach_us())
        GTEST_SKIP() << "ptrace scope keeps the peer from reaching this process";
    remote(ALLOC_MD, 2 * kMiB);
    const uint64_t ve_addr = raddr; // VE memory the peer opened for its peers
    // Its private memory: ordinary host memory (now what PEER_FILL/HASH use).
    peer_reply_t host = peer.call(PEER_ALLOC, ALLOC_HOST, 2 * kMiB);
    ASSERT_EQ(host.status, UCS_OK);
    ASSERT_EQ(peer.call(PEER_FILL, 0, 0, 2 * kMiB, 5).status, UCS_OK);
    const uint64_t private_hash = remote_hash(0, 2 * kMiB);

    veshm_copy_help *h = peer_help_slot(host);
    ASSERT_NE(h, nullptr) << "the peer's FIFO is not attached";
    constexpr uint64_t kChunks = kMiB / VESHM_COPY_HELP_CHUNK;
    // Publishes a job of 1 MiB like an origin would, lets the peer poll, then
    // ends the job; the chunks the peer copied.
    auto forge = [&](pid_t pid, const void *mine, uint64_t target, int is_get, uint64_t op = 0) {
        uint64_t none = 0;
        EXPECT_TRUE(__atomic_compare_exchange_n(&h->owner, &none, 1, 0, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED));
        veshm_copy_help_job job = {nullptr, target, const_cast<void *>(mine), kMiB, is_get, op, 0,
                                   0,       0};
        uint64_t seq = veshm_copy_help_publish(h, pid, &job, kChunks);
        peer_reply_t r = peer.call(PEER_PROGRESS, 0, 300, kChunks);
        EXPECT_EQ(r.status, UCS_OK);
        while (veshm_copy_help_claim(h, seq) >= 0) {
        }
        EXPECT_EQ(__atomic_load_n(&h->done, __ATOMIC_ACQUIRE), r.value);
        for (uint64_t c = 0; c < kChunks; ++c)
            EXPECT_FALSE(veshm_copy_help_failed(h, c)) << "chunk " << c;
        __atomic_store_n(&h->owner, 0, __ATOMIC_RELEASE);
        return r.value;
    };
    std::vector<uint8_t> payload(kMiB, 0xee), sink(kMiB, 0);
    EXPECT_EQ(forge(getpid(), payload.data(), host.addr, 0), 0u) << "put into private memory";
    EXPECT_EQ(remote_hash(0, 2 * kMiB), private_hash);
    EXPECT_EQ(forge(getpid(), sink.data(), host.addr, 1), 0u) << "get out of private memory";
    EXPECT_EQ(std::count(sink.begin(), sink.end(), 0), (long)kMiB);
    EXPECT_EQ(forge(peer.pid, reinterpret_cast<void *>(host.addr), ve_addr, 0), 0u)
        << "a copy between the peer's own buffers";
    EXPECT_EQ(forge(getpid(), payload.data(), ve_addr, 0, 1), 0u)
        << "an operation (the MPI library's accumulates) the transport does not do";
    // Through the kernel the peer leaves the last chunks to the origin, which
    // this forger does not copy: the peer's are the ones after them.
    constexpr uint64_t kLeft = VESHM_COPY_HELP_KERNEL_LEAVES, kFrom = kLeft * VESHM_COPY_HELP_CHUNK;
    EXPECT_EQ(forge(getpid(), payload.data(), ve_addr, 0), kChunks - kLeft) << "control";
    LocalBuf back(ctx, kMiB, false);
    ASSERT_EQ(get(ZCOPY, back.p, back.memh, kMiB, ve_addr), UCS_OK);
    EXPECT_EQ(memcmp(back.p + kFrom, payload.data() + kFrom, kMiB - kFrom), 0)
        << "the control's job did not arrive";
}

// The peer dying while it holds a chunk of a large put (a thread of this
// process claims the chunk in the peer's name, as its progress would, then
// kills it): the put fails with UCS_ERR_ENDPOINT_TIMEOUT instead of waiting
// for that chunk for ever, and so does the endpoint's next operation.
TEST_F(UctVeshm, PeerKilledHoldingAChunkFailsTheCopy) {
    remote(ALLOC_MD, 2 * kMiB);
    peer_reply_t any = peer.call(PEER_ALLOC, ALLOC_HOST, 4096); // for its interface address
    ASSERT_EQ(any.status, UCS_OK);
    veshm_copy_help *h = peer_help_slot(any);
    ASSERT_NE(h, nullptr) << "the peer's FIFO is not attached";
    std::atomic<bool> stop{false}, killed{false};
    std::thread thief([&] {
        while (!stop.load()) {
            uint64_t word = __atomic_load_n(&h->claim, __ATOMIC_ACQUIRE);
            if (veshm_copy_help_open(word) &&
                veshm_copy_help_claim_last(h, veshm_copy_help_seq(word)) >= 0) {
                // Before the kill: the put under way is then the loop's last.
                killed = true;
                peer.kill_now();
                return;
            }
        }
    });
    LocalBuf buf(ctx, kMiB, false);
    ucs_status_t s = UCS_OK;
    for (int i = 0; i < 100000 && s == UCS_OK && !killed.load(); ++i)
        s = put(ZCOPY, buf.p, buf.memh, kMiB, raddr);
    stop = true;
    thief.join();
    ASSERT_TRUE(killed.load()) << "no put was shared: " << ucs_status_string(s);
    // The put under way when the chunk was taken (it cannot end without it).
    EXPECT_EQ(s, UCS_ERR_ENDPOINT_TIMEOUT);
    EXPECT_EQ(put(SHORT, buf.p, buf.memh, 8, raddr), UCS_ERR_ENDPOINT_TIMEOUT);
}

// The fast paths (put_short, get_bcopy, atomics through the host view) do
// not count operations towards a check of the peer: once the peer is killed,
// a loop of them and a flush finds out at its next flush (within the
// flush's check interval), and from then on every one of them fails without
// touching memory.
TEST_F(UctVeshm, FastPathsStopOnceAFlushFoundThePeerGone) {
    remote(ALLOC_MD, 64 * 1024);
    uint8_t word[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];
    uint64_t old = 0;
    ASSERT_EQ(put(SHORT, word, nullptr, 8, raddr), UCS_OK);
    ASSERT_EQ(get(BCOPY, back, nullptr, 8, raddr), UCS_OK);
    ASSERT_EQ(uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 1, &old, raddr, rkey.rkey, nullptr),
              UCS_OK);
    EXPECT_EQ(memcmp(&old, word, 8), 0);
    peer.kill_now();
    auto t0 = std::chrono::steady_clock::now();
    ucs_status_t s = UCS_OK;
    while (s == UCS_OK && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
        for (int i = 0; i < 16 && s == UCS_OK; ++i) {
            s = put(SHORT, word, nullptr, 8, raddr);
            if (s == UCS_OK)
                s = get(BCOPY, back, nullptr, 8, raddr);
        }
        if (s == UCS_OK)
            s = flush();
    }
    ASSERT_EQ(s, UCS_ERR_ENDPOINT_TIMEOUT) << "the peer's death was never reported";
    memset(back, 0xee, sizeof back);
    old = 42;
    EXPECT_EQ(put(SHORT, word, nullptr, 8, raddr), UCS_ERR_ENDPOINT_TIMEOUT);
    EXPECT_EQ(get(BCOPY, back, nullptr, 8, raddr), UCS_ERR_ENDPOINT_TIMEOUT);
    EXPECT_EQ(back[0], 0xee) << "a failed get_bcopy copied";
    EXPECT_EQ(uct_ep_atomic64_fetch(ep, UCT_ATOMIC_OP_ADD, 1, &old, raddr, rkey.rkey, nullptr),
              UCS_ERR_ENDPOINT_TIMEOUT);
    EXPECT_EQ(old, 42u) << "a failed fetch-add returned a value";
}

TEST_F(UctVeshm, HostBufferRegistrationsAreCachedSafely) {
    const size_t n = 256 * 1024 + 12;
    remote(ALLOC_MD, 4 * kMiB);
    uint32_t seed = 77;
    auto round = [&](uint8_t *p) {
        uct_mem_h memh;
        ASSERT_EQ(uct_md_mem_reg(ctx.md, p, n, UCT_MD_MEM_ACCESS_ALL, &memh), UCS_OK);
        ++seed;
        uct_test_fill(p, n, 0, seed);
        ASSERT_EQ(put(ZCOPY, p, memh, n, raddr + 8), UCS_OK);
        ASSERT_EQ(flush(), UCS_OK);
        ASSERT_EQ(remote_hash(8, n), uct_test_hash(p, n));
        ASSERT_EQ(peer.call(PEER_FILL, 0, 16, n, seed).status, UCS_OK);
        memset(p, 0, n);
        ASSERT_EQ(get(ZCOPY, p, memh, n, raddr + 16), UCS_OK);
        ASSERT_EQ(uct_test_hash(p, n), uct_test_pattern_hash(16, n, seed));
        uct_md_mem_dereg(ctx.md, memh);
    };
    std::vector<uint8_t *> bufs;
    for (int i = 0; i < 40; ++i) {
        void *m =
            mmap(nullptr, n + 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        bufs.push_back(static_cast<uint8_t *>(m) + 4);
        round(bufs.back());
    }
    for (int pass = 0; pass < 2; ++pass)
        for (uint8_t *p : bufs)
            round(p);
    // Unmap the newest buffers (their registrations are cached) and map new
    // memory in their place.
    for (size_t i = bufs.size() - 8; i < bufs.size(); ++i) {
        void *base = bufs[i] - 4;
        ASSERT_EQ(munmap(base, n + 8192), 0);
        void *m = mmap(base, n + 8192, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        round(bufs[i]);
    }
    for (uint8_t *p : bufs)
        ASSERT_EQ(munmap(p - 4, n + 8192), 0);
}

TEST_F(UctVeshmEngineDma, PeerKilledMidTransfer) {
    remote(ALLOC_MD, 64 * kMiB);
    const size_t big = 32 * kMiB; // above what a call finishes by itself
    LocalBuf a(ctx, big, true);
    // Two puts posted, on the DMA engine thread (1 MiB pieces) and not
    // completed when the peer dies.
    std::vector<Completion> cs(2);
    for (size_t i = 0; i < cs.size(); ++i) {
        cs[i].comp = {on_done, 1, UCS_OK};
        uct_iov_t iov{a.p, big, a.memh, 0, 1};
        ASSERT_EQ(uct_ep_put_zcopy(ep, &iov, 1, raddr + i * big, rkey.rkey, &cs[i].comp),
                  UCS_INPROGRESS);
    }
    ASSERT_FALSE(cs[0].done || cs[1].done);
    peer.kill_now();
    // They complete (the attachment keeps the memory), nothing hangs.
    for (Completion &c : cs)
        EXPECT_NE(wait(UCS_INPROGRESS, c), UCS_ERR_TIMED_OUT);
    auto t0 = std::chrono::steady_clock::now();
    ucs_status_t err = UCS_OK;
    for (int i = 0; i < 100000 && err == UCS_OK; ++i) {
        Completion c;
        c.comp = {on_done, 1, UCS_OK};
        uct_iov_t iov{a.p, 16 * kMiB, a.memh, 0, 1};
        ucs_status_t s = uct_ep_put_zcopy(ep, &iov, 1, raddr, rkey.rkey, &c.comp);
        if (s == UCS_INPROGRESS)
            s = wait(s, c);
        if (s != UCS_OK && s != UCS_ERR_NO_RESOURCE)
            err = s;
        else if (i % 8 == 7)
            err = flush();
        ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
    }
    EXPECT_NE(err, UCS_OK) << "the survivor must see the peer's death as an error";
    EXPECT_NE(err, UCS_ERR_TIMED_OUT);
    // Further operations keep failing, without hanging.
    EXPECT_NE(flush(), UCS_OK);
}

// The VE node: UCX_VESHM_NODE, else VE_NODE_NUMBER; the application's own VE
// process on that node carries the traffic and holds the memory.
VeoProcHandle *proc_of(void *p) {
    return veo_get_proc_handle_from_hmem(veo_emu_vh_to_hmem(p));
}

TEST(UctVeshmNode, ReusesTheApplicationsVeProcess) {
    VeoProcHandle *h = veo_proc_create(2);
    ASSERT_NE(h, nullptr);
    setenv("UCX_VESHM_NODE", "2", 1);
    uct_test_ctx_t ctx;
    ASSERT_EQ(uct_test_open(&ctx), 0);
    EXPECT_STREQ(ctx.dev_name, "ve2");
    uct_allocated_memory_t mem;
    ASSERT_EQ(uct_test_md_alloc(&ctx, kMiB, nullptr, 0, &mem), UCS_OK);
    EXPECT_EQ(proc_of(mem.address), h) << "the transport started a VE process of its own";
    uct_mem_free(&mem);
    uct_test_close(&ctx);
    unsetenv("UCX_VESHM_NODE");
    EXPECT_EQ(veo_proc_destroy(h), 0);
}

TEST(UctVeshmNode, VeNodeNumberByDefault) {
    setenv("VE_NODE_NUMBER", "3", 1);
    uct_test_ctx_t ctx;
    ASSERT_EQ(uct_test_open(&ctx), 0);
    EXPECT_STREQ(ctx.dev_name, "ve3");
    uct_allocated_memory_t mem;
    ASSERT_EQ(uct_test_md_alloc(&ctx, kMiB, nullptr, 0, &mem), UCS_OK);
    EXPECT_EQ(veo_emu_proc_node(proc_of(mem.address)), 3);
    uct_mem_free(&mem);
    uct_test_close(&ctx);
    unsetenv("VE_NODE_NUMBER");
}

} // namespace
