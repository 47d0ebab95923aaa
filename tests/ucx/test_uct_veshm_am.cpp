// Active messages of the veshm transport: through the receive FIFO of an
// interface to itself (loopback, in this process) and to another process
// (uct_peer); flow control, kept descriptors, AM alignment, peer failure.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "uct_common.h"
#include "uct_peer_process.hpp"
#include "veo_emu.h"

// UCX's internal entry point (libuct exports it; uct/base/uct_iface.h).
extern "C" ucs_status_t uct_ep_invalidate(uct_ep_h ep, unsigned flags);

namespace {

constexpr uint8_t kAmId = 7;

// uct_iface_release_desc, with the descriptor's release pointer read as
// bytes: with an AM alignment offset the slot before the descriptor need not
// be pointer-aligned (UCX's inline reads it as a pointer; UBSan objects).
static void release_desc(void *desc) {
    uct_recv_desc_t *release;
    memcpy(&release, static_cast<uint8_t *>(desc) - sizeof(release), sizeof(release));
    release->cb(release, desc);
}

struct Received {
    std::vector<uint8_t> data;
    unsigned flags;
    const void *where;
};

// What the handler saw, and whether it keeps the data (UCS_INPROGRESS).
struct Sink {
    std::vector<Received> got;
    bool keep = false;
    std::vector<void *> kept; // descriptors
    size_t rx_headroom = 0;
    static ucs_status_t handler(void *arg, void *data, size_t length, unsigned flags) {
        auto *s = static_cast<Sink *>(arg);
        auto *b = static_cast<uint8_t *>(data);
        s->got.push_back({std::vector<uint8_t>(b, b + length), flags, data});
        if (s->keep && (flags & UCT_CB_PARAM_FLAG_DESC)) {
            s->kept.push_back(b - s->rx_headroom);
            return UCS_INPROGRESS;
        }
        return UCS_OK;
    }
};

// The seed picks where in the pattern the bytes start: uct_test_pattern's
// seed alone changes only bits it shifts out for small seeds.
uint64_t start_of(uint32_t seed) {
    return (uint64_t)seed * 1000003;
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uct_test_fill(v.data(), n, start_of(seed), seed);
    return v;
}

class UctVeshmAm : public ::testing::Test {
  protected:
    uct_test_ctx_t ctx{};
    uct_ep_h ep = nullptr;
    Sink sink;

    void open(const uct_iface_params_t *extra = nullptr) {
        ucs_status_t s;
        ASSERT_EQ(uct_test_open_ex(&ctx, extra, &s), 0) << ucs_status_string(s);
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_AM_SHORT);
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_AM_BCOPY);
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_AM_ZCOPY);
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_CB_SYNC);
        ASSERT_FALSE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_AM_DUP);
        ASSERT_EQ(uct_iface_set_am_handler(ctx.iface, kAmId, Sink::handler, &sink, 0), UCS_OK);
    }
    // An endpoint to this interface itself.
    void loopback() {
        std::vector<uint8_t> dev(ctx.iface_attr.device_addr_len),
            ifa(ctx.iface_attr.iface_addr_len);
        ASSERT_EQ(uct_iface_get_device_address(ctx.iface, (uct_device_addr_t *)dev.data()), UCS_OK);
        ASSERT_EQ(uct_iface_get_address(ctx.iface, (uct_iface_addr_t *)ifa.data()), UCS_OK);
        connect(dev.data(), ifa.data());
    }
    void connect(const uint8_t *dev, const uint8_t *ifa) {
        uct_ep_params_t p{};
        p.field_mask =
            UCT_EP_PARAM_FIELD_IFACE | UCT_EP_PARAM_FIELD_DEV_ADDR | UCT_EP_PARAM_FIELD_IFACE_ADDR;
        p.iface = ctx.iface;
        p.dev_addr = reinterpret_cast<const uct_device_addr_t *>(dev);
        p.iface_addr = reinterpret_cast<const uct_iface_addr_t *>(ifa);
        ASSERT_TRUE(uct_iface_is_reachable(ctx.iface, p.dev_addr, p.iface_addr));
        ASSERT_EQ(uct_ep_create(&p, &ep), UCS_OK);
    }
    void TearDown() override {
        for (void *d : sink.kept)
            release_desc(d);
        if (ep)
            uct_ep_destroy(ep);
        uct_test_close(&ctx);
    }
    void progress_until(size_t n) {
        auto t0 = std::chrono::steady_clock::now();
        while (sink.got.size() < n &&
               std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
            uct_worker_progress(ctx.worker);
    }
    ucs_status_t am_short(uint64_t header, const std::vector<uint8_t> &payload) {
        return uct_ep_am_short(ep, kAmId, header, payload.data(), (unsigned)payload.size());
    }
    ssize_t am_bcopy(const std::vector<uint8_t> &payload) {
        return uct_ep_am_bcopy(
            ep, kAmId,
            [](void *dest, void *arg) -> size_t {
                auto *v = static_cast<const std::vector<uint8_t> *>(arg);
                memcpy(dest, v->data(), v->size());
                return v->size();
            },
            const_cast<std::vector<uint8_t> *>(&payload), 0);
    }
    // header + payload by am_zcopy from registered memory p (memh); waits.
    ucs_status_t am_zcopy(const std::vector<uint8_t> &header, uint8_t *p, size_t n,
                          uct_mem_h memh) {
        struct Done {
            uct_completion_t comp;
            bool done = false;
            ucs_status_t status = UCS_OK;
        } d;
        d.comp = {[](uct_completion_t *c) {
                      auto *x = reinterpret_cast<Done *>(c);
                      x->done = true;
                      x->status = c->status;
                  },
                  1, UCS_OK};
        uct_iov_t iov{p, n, memh, 0, 1};
        ucs_status_t s =
            uct_ep_am_zcopy(ep, kAmId, header.data(), (unsigned)header.size(), &iov, 1, 0, &d.comp);
        if (s != UCS_INPROGRESS)
            return s;
        auto t0 = std::chrono::steady_clock::now();
        while (!d.done && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
            uct_worker_progress(ctx.worker);
        return d.done ? d.status : UCS_ERR_TIMED_OUT;
    }
};

std::vector<uint8_t> concat(uint64_t header, const std::vector<uint8_t> &payload) {
    std::vector<uint8_t> v(sizeof(header) + payload.size());
    memcpy(v.data(), &header, sizeof(header));
    if (!payload.empty())
        memcpy(v.data() + sizeof(header), payload.data(), payload.size());
    return v;
}

TEST_F(UctVeshmAm, AllMethodsArriveInOrderWithTheirData) {
    ASSERT_NO_FATAL_FAILURE(open());
    ASSERT_NO_FATAL_FAILURE(loopback());
    auto small = pattern(ctx.iface_attr.cap.am.max_short - 8, 1);
    auto mid = pattern(ctx.iface_attr.cap.am.max_bcopy, 2);
    auto hdr = pattern(32, 3);
    size_t zlen = ctx.iface_attr.cap.am.max_zcopy - hdr.size();
    // zcopy from VE memory and from registered host memory, with an odd size.
    uct_allocated_memory_t ve{};
    ASSERT_EQ(uct_test_md_alloc(&ctx, zlen, nullptr, 0, &ve), UCS_OK);
    uct_test_fill(ve.address, zlen, start_of(4), 4);
    std::vector<uint8_t> host = pattern(zlen - 3, 5);
    uct_mem_h hmemh;
    ASSERT_EQ(uct_md_mem_reg(ctx.md, host.data(), host.size(), UCT_MD_MEM_ACCESS_ALL, &hmemh),
              UCS_OK);

    EXPECT_EQ(am_short(0x1122334455667788ull, small), UCS_OK);
    EXPECT_EQ(am_bcopy(mid), (ssize_t)mid.size());
    EXPECT_EQ(am_zcopy(hdr, static_cast<uint8_t *>(ve.address), zlen, ve.memh), UCS_OK);
    EXPECT_EQ(am_zcopy(hdr, host.data(), host.size(), hmemh), UCS_OK);
    EXPECT_EQ(am_short(42, {}), UCS_OK);
    progress_until(5);
    ASSERT_EQ(sink.got.size(), 5u);
    EXPECT_EQ(sink.got[0].data, concat(0x1122334455667788ull, small));
    EXPECT_EQ(sink.got[1].data, mid);
    std::vector<uint8_t> z1 = hdr, z2 = hdr;
    z1.insert(z1.end(), (uint8_t *)ve.address, (uint8_t *)ve.address + zlen);
    z2.insert(z2.end(), host.begin(), host.end());
    EXPECT_EQ(sink.got[2].data, z1);
    EXPECT_EQ(sink.got[3].data, z2);
    EXPECT_EQ(sink.got[4].data, concat(42, {}));
    // Data in a receive buffer may be kept (small messages travel in the
    // FIFO element itself and may not).
    for (size_t i = 1; i < 4; ++i)
        EXPECT_TRUE(sink.got[i].flags & UCT_CB_PARAM_FLAG_DESC) << i;
    uct_md_mem_dereg(ctx.md, hmemh);
    uct_mem_free(&ve);
}

// am_short of every size around the element's inline room, and its data.
TEST_F(UctVeshmAm, ShortMessagesOfEverySize) {
    ASSERT_NO_FATAL_FAILURE(open());
    ASSERT_NO_FATAL_FAILURE(loopback());
    for (size_t n = 0; n <= 300; ++n) {
        auto p = pattern(n, (uint32_t)n);
        while (am_short(n, p) == UCS_ERR_NO_RESOURCE)
            uct_worker_progress(ctx.worker);
    }
    progress_until(301);
    ASSERT_EQ(sink.got.size(), 301u);
    for (size_t n = 0; n <= 300; ++n)
        EXPECT_EQ(sink.got[n].data, concat(n, pattern(n, (uint32_t)n))) << n;
}

// put_zcopy (large: the DMA engine still moves it after the call), fence,
// am_short: when the message arrives, the put's data must be there.
TEST_F(UctVeshmAm, FenceOrdersMessagesAfterPuts) {
    ASSERT_NO_FATAL_FAILURE(open());
    ASSERT_NO_FATAL_FAILURE(loopback());
    const size_t len = 32ul << 20;
    uct_allocated_memory_t src{}, dst{};
    ASSERT_EQ(uct_test_md_alloc(&ctx, len, nullptr, 0, &src), UCS_OK);
    ASSERT_EQ(uct_test_md_alloc(&ctx, len, nullptr, 0, &dst), UCS_OK);
    std::vector<uint8_t> packed(ctx.md_attr.rkey_packed_size);
    ASSERT_EQ(uct_md_mkey_pack(ctx.md, dst.memh, packed.data()), UCS_OK);
    uct_rkey_bundle_t rkey{};
    ASSERT_EQ(uct_rkey_unpack(ctx.component, packed.data(), &rkey), UCS_OK);
    // The handler checks the destination when the message arrives.
    struct Check {
        const uint8_t *dst;
        size_t len;
        uint64_t want;
        int arrived = 0, intact = 0;
    } check{static_cast<uint8_t *>(dst.address), len, 0};
    ASSERT_EQ(uct_iface_set_am_handler(
                  ctx.iface, kAmId,
                  [](void *arg, void *, size_t, unsigned) -> ucs_status_t {
                      auto *c = static_cast<Check *>(arg);
                      ++c->arrived;
                      c->intact += uct_test_hash(c->dst, c->len) == c->want;
                      return UCS_OK;
                  },
                  &check, 0),
              UCS_OK);
    for (uint32_t round = 0; round < 3; ++round) {
        uct_test_fill(src.address, len, start_of(round + 77), round);
        check.want = uct_test_hash(src.address, len);
        struct Done {
            uct_completion_t comp;
            bool done = false;
        } d;
        d.comp = {[](uct_completion_t *c) { reinterpret_cast<Done *>(c)->done = true; }, 1, UCS_OK};
        uct_iov_t iov{src.address, len, src.memh, 0, 1};
        ucs_status_t ps =
            uct_ep_put_zcopy(ep, &iov, 1, (uint64_t)(uintptr_t)dst.address, rkey.rkey, &d.comp);
        ASSERT_TRUE(ps == UCS_OK || ps == UCS_INPROGRESS);
        ASSERT_EQ(uct_ep_fence(ep, 0), UCS_OK);
        ucs_status_t s;
        while ((s = am_short(round, {})) == UCS_ERR_NO_RESOURCE)
            uct_worker_progress(ctx.worker);
        ASSERT_EQ(s, UCS_OK);
        auto t0 = std::chrono::steady_clock::now();
        while ((check.arrived <= (int)round || (ps == UCS_INPROGRESS && !d.done)) &&
               std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
            uct_worker_progress(ctx.worker);
        ASSERT_EQ(check.arrived, (int)round + 1);
        ASSERT_TRUE(ps == UCS_OK || d.done);
    }
    EXPECT_EQ(check.intact, 3) << "a message overtook the put before its fence";
    uct_rkey_release(ctx.component, &rkey);
    uct_mem_free(&src);
    uct_mem_free(&dst);
}

TEST_F(UctVeshmAm, MessagesAboveTheMaximaAreInvalid) {
    ASSERT_NO_FATAL_FAILURE(open());
    ASSERT_NO_FATAL_FAILURE(loopback());
    auto big = pattern(ctx.iface_attr.cap.am.max_zcopy + 1, 6);
    EXPECT_EQ(uct_ep_am_short(ep, kAmId, 0, big.data(), (unsigned)ctx.iface_attr.cap.am.max_short),
              UCS_ERR_INVALID_PARAM); // 8 header bytes + max_short
    uct_iov_t iov{big.data(), big.size() - 16, UCT_MEM_HANDLE_NULL, 0, 1};
    EXPECT_EQ(uct_ep_am_zcopy(ep, kAmId, big.data(), 17, &iov, 1, 0, nullptr),
              UCS_ERR_INVALID_PARAM);
    EXPECT_EQ(uct_ep_am_zcopy(ep, kAmId, big.data(), (unsigned)ctx.iface_attr.cap.am.max_hdr + 1,
                              &iov, 0, 0, nullptr),
              UCS_ERR_INVALID_PARAM);
    EXPECT_EQ(uct_ep_am_short(ep, UCT_AM_ID_MAX, 0, nullptr, 0), UCS_ERR_INVALID_PARAM);
    for (int i = 0; i < 100; ++i)
        uct_worker_progress(ctx.worker);
    EXPECT_TRUE(sink.got.empty()) << "a refused message was delivered";
}

// A pending request that sends one am_short with its number.
struct PendingAm {
    uct_pending_req_t req;
    uct_ep_h ep;
    uint64_t n;
    int calls = 0;
};

TEST_F(UctVeshmAm, FullFifoGivesNoResourceAndThePendingQueueResumes) {
    ASSERT_NO_FATAL_FAILURE(open());
    ASSERT_NO_FATAL_FAILURE(loopback());
    // Nothing takes messages until progress: the FIFO fills.
    uint64_t sent = 0;
    ucs_status_t s;
    while ((s = am_short(sent, {})) == UCS_OK)
        ++sent;
    ASSERT_EQ(s, UCS_ERR_NO_RESOURCE);
    EXPECT_GE(sent, 2u);
    PendingAm p{{}, ep, sent, 0};
    p.req.func = [](uct_pending_req_t *r) -> ucs_status_t {
        auto *pa = reinterpret_cast<PendingAm *>(r);
        ++pa->calls;
        return uct_ep_am_short(pa->ep, kAmId, pa->n, nullptr, 0);
    };
    // No room: queued, not BUSY (that would make the caller spin).
    ASSERT_EQ(uct_ep_pending_add(ep, &p.req, 0), UCS_OK);
    progress_until(sent + 1);
    ASSERT_EQ(sink.got.size(), sent + 1);
    EXPECT_GE(p.calls, 1);
    for (uint64_t i = 0; i <= sent; ++i)
        EXPECT_EQ(sink.got[i].data, concat(i, {})) << i;
    // With room again, pending_add says BUSY: send now.
    EXPECT_EQ(uct_ep_pending_add(ep, &p.req, 0), UCS_ERR_BUSY);
}

TEST_F(UctVeshmAm, KeptDescriptorsStayValidUntilReleased) {
    uct_iface_params_t extra{};
    extra.field_mask = UCT_IFACE_PARAM_FIELD_RX_HEADROOM;
    extra.rx_headroom = 40;
    ASSERT_NO_FATAL_FAILURE(open(&extra));
    ASSERT_NO_FATAL_FAILURE(loopback());
    sink.keep = true;
    sink.rx_headroom = 40;
    // More than the FIFO and its spare buffers hold: the rest are host copies.
    const int n = 700;
    for (int i = 0; i < n; ++i) {
        auto v = pattern(1000 + i, (uint32_t)i);
        ssize_t r;
        while ((r = am_bcopy(v)) == UCS_ERR_NO_RESOURCE)
            uct_worker_progress(ctx.worker);
        ASSERT_EQ(r, (ssize_t)v.size());
    }
    progress_until(n);
    ASSERT_EQ(sink.got.size(), (size_t)n);
    ASSERT_EQ(sink.kept.size(), (size_t)n);
    // Every kept message is still intact where the handler got it.
    for (int i = 0; i < n; ++i) {
        auto v = pattern(1000 + i, (uint32_t)i);
        ASSERT_EQ(memcmp(sink.got[i].where, v.data(), v.size()), 0) << i;
        EXPECT_EQ(static_cast<const uint8_t *>(sink.got[i].where) - sink.rx_headroom, sink.kept[i]);
    }
    for (void *d : sink.kept)
        release_desc(d);
    sink.kept.clear();
    // Large kept messages beyond the spares (host copies of the largest
    // size, reused once released), twice.
    for (int round = 0; round < 2; ++round) {
        sink.got.clear();
        const int m = 250;
        for (int i = 0; i < m; ++i) {
            auto v = pattern(100000 + i, (uint32_t)(i + 1000 * round));
            ssize_t r;
            while ((r = am_bcopy(v)) == UCS_ERR_NO_RESOURCE)
                uct_worker_progress(ctx.worker);
            ASSERT_EQ(r, (ssize_t)v.size());
        }
        progress_until(m);
        ASSERT_EQ(sink.kept.size(), (size_t)m);
        for (int i = 0; i < m; ++i) {
            auto v = pattern(100000 + i, (uint32_t)(i + 1000 * round));
            ASSERT_EQ(memcmp(sink.got[i].where, v.data(), v.size()), 0) << round << " " << i;
        }
        for (void *d : sink.kept)
            release_desc(d);
        sink.kept.clear();
    }
    // The released buffers serve again.
    sink.keep = false;
    sink.got.clear();
    for (int i = 0; i < 300; ++i) {
        ssize_t r;
        auto v = pattern(64, (uint32_t)i + 5000);
        while ((r = am_bcopy(v)) == UCS_ERR_NO_RESOURCE)
            uct_worker_progress(ctx.worker);
    }
    progress_until(300);
    ASSERT_EQ(sink.got.size(), 300u);
    EXPECT_EQ(sink.got[299].data, pattern(64, 5299));
}

TEST_F(UctVeshmAm, AlignmentParametersAreHonoured) {
    uct_iface_params_t extra{};
    extra.field_mask = UCT_IFACE_PARAM_FIELD_AM_ALIGNMENT | UCT_IFACE_PARAM_FIELD_AM_ALIGN_OFFSET |
                       UCT_IFACE_PARAM_FIELD_RX_HEADROOM;
    extra.am_alignment = 512;
    extra.am_align_offset = 24;
    extra.rx_headroom = 13;
    ASSERT_NO_FATAL_FAILURE(open(&extra));
    ASSERT_NO_FATAL_FAILURE(loopback());
    sink.keep = true;
    sink.rx_headroom = 13;
    for (int i = 0; i < 100; ++i) {
        while (am_short((uint64_t)i, pattern(40, 9)) == UCS_ERR_NO_RESOURCE)
            uct_worker_progress(ctx.worker);
        if (i % 10 == 0)
            uct_worker_progress(ctx.worker);
    }
    progress_until(100);
    ASSERT_EQ(sink.got.size(), 100u);
    for (auto &r : sink.got)
        EXPECT_EQ(((uintptr_t)r.where + 24) % 512, 0u) << r.where;
}

TEST(UctVeshmAmParams, AlignOffsetWithoutAlignmentIsInvalid) {
    uct_test_ctx_t ctx{};
    uct_iface_params_t extra{};
    extra.field_mask = UCT_IFACE_PARAM_FIELD_AM_ALIGN_OFFSET;
    extra.am_align_offset = 8;
    ucs_status_t s;
    EXPECT_NE(uct_test_open_ex(&ctx, &extra, &s), 0);
    EXPECT_EQ(s, UCS_ERR_INVALID_PARAM);
    uct_test_close(&ctx);
}

TEST_F(UctVeshmAm, ToAnotherProcess) {
    ASSERT_NO_FATAL_FAILURE(open());
    Peer peer;
    ASSERT_NO_FATAL_FAILURE(peer.start());
    peer_reply_t r = peer.call(PEER_ALLOC, 0, 0);
    ASSERT_EQ(r.status, UCS_OK);
    ASSERT_NO_FATAL_FAILURE(connect(r.dev_addr, r.iface_addr));
    // Twice the FIFO: the sender meets a full FIFO and waits for the peer.
    const int n = 200;
    peer_request_t req{PEER_AM_COLLECT, 0, (uint64_t)n, kAmId, 0};
    ASSERT_EQ(uct_test_send(peer.fd, &req, sizeof(req)), 0);
    uct_allocated_memory_t ve{};
    size_t zlen = ctx.iface_attr.cap.am.max_zcopy - 8;
    ASSERT_EQ(uct_test_md_alloc(&ctx, zlen, nullptr, 0, &ve), UCS_OK);
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const std::vector<uint8_t> &v) {
        for (uint8_t b : v)
            h = (h ^ b) * 1099511628211ull;
    };
    for (int i = 0; i < n; ++i) {
        std::vector<uint8_t> sent;
        ucs_status_t s;
        if (i % 3 == 0) {
            auto p = pattern(100 + i, (uint32_t)i);
            while ((s = am_short((uint64_t)i, p)) == UCS_ERR_NO_RESOURCE)
                uct_worker_progress(ctx.worker);
            sent = concat((uint64_t)i, p);
        } else if (i % 3 == 1) {
            auto p = pattern(5000 + i, (uint32_t)i);
            ssize_t b;
            while ((b = am_bcopy(p)) == UCS_ERR_NO_RESOURCE)
                uct_worker_progress(ctx.worker);
            s = b >= 0 ? UCS_OK : (ucs_status_t)b;
            sent = p;
        } else {
            auto hdr = pattern(8, (uint32_t)i);
            uct_test_fill(ve.address, zlen, start_of((uint32_t)i), (uint32_t)i);
            while ((s = am_zcopy(hdr, (uint8_t *)ve.address, zlen, ve.memh)) == UCS_ERR_NO_RESOURCE)
                uct_worker_progress(ctx.worker);
            sent = hdr;
            sent.insert(sent.end(), (uint8_t *)ve.address, (uint8_t *)ve.address + zlen);
        }
        ASSERT_EQ(s, UCS_OK) << i;
        mix(sent);
    }
    peer_reply_t done;
    ASSERT_EQ(uct_test_recv(peer.fd, &done, sizeof(done)), 0);
    EXPECT_EQ(done.length, (uint64_t)n);
    EXPECT_EQ(done.value, h) << "the peer got other data, or in another order";
    uct_mem_free(&ve);
    uct_ep_destroy(ep);
    ep = nullptr;
}

// The peer dies: the error handler hears of it (uct_iface_handle_ep_err),
// operations fail instead of hanging.
struct ErrSeen {
    int calls = 0;
    ucs_status_t status = UCS_OK;
    uct_ep_h ep = nullptr;
};

class UctVeshmAmFailure : public UctVeshmAm {
  protected:
    ErrSeen seen;
    Peer peer;
    // An interface with an error handler, an endpoint to a live peer.
    void connect_peer() {
        uct_iface_params_t extra{};
        extra.field_mask = UCT_IFACE_PARAM_FIELD_ERR_HANDLER |
                           UCT_IFACE_PARAM_FIELD_ERR_HANDLER_ARG |
                           UCT_IFACE_PARAM_FIELD_ERR_HANDLER_FLAGS;
        extra.err_handler = [](void *arg, uct_ep_h e, ucs_status_t s) -> ucs_status_t {
            auto *x = static_cast<ErrSeen *>(arg);
            ++x->calls;
            x->status = s;
            x->ep = e;
            return UCS_OK;
        };
        extra.err_handler_arg = &seen;
        extra.err_handler_flags = 0;
        ASSERT_NO_FATAL_FAILURE(open(&extra));
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_ERRHANDLE_PEER_FAILURE);
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_EP_CHECK);
        ASSERT_TRUE(ctx.iface_attr.cap.flags & UCT_IFACE_FLAG_EP_KEEPALIVE);
        ASSERT_NO_FATAL_FAILURE(peer.start());
        peer_reply_t r = peer.call(PEER_ALLOC, 0, 0);
        ASSERT_EQ(r.status, UCS_OK);
        ASSERT_NO_FATAL_FAILURE(connect(r.dev_addr, r.iface_addr));
    }
    // A checked live peer is not reported; after fail() an ep_check reports it.
    template <typename F> void expect_reported_by_ep_check_after(F fail) {
        ASSERT_NO_FATAL_FAILURE(connect_peer());
        ASSERT_EQ(uct_ep_check(ep, 0, nullptr), UCS_OK);
        for (int i = 0; i < 100; ++i)
            uct_worker_progress(ctx.worker);
        EXPECT_EQ(seen.calls, 0) << "a live peer was reported";
        ASSERT_NO_FATAL_FAILURE(fail());
        ASSERT_EQ(uct_ep_check(ep, 0, nullptr), UCS_OK);
        wait_report();
    }
    void wait_report() {
        auto t0 = std::chrono::steady_clock::now();
        while (seen.calls == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
            uct_worker_progress(ctx.worker);
        EXPECT_EQ(seen.calls, 1);
        EXPECT_EQ(seen.status, UCS_ERR_ENDPOINT_TIMEOUT);
        EXPECT_EQ(seen.ep, ep);
        // Sending fails now (its FIFO would never drain), once reported.
        ucs_status_t s = UCS_OK;
        for (int i = 0; i < 1000 && s == UCS_OK; ++i)
            s = am_short(1, {});
        EXPECT_EQ(s, UCS_ERR_ENDPOINT_TIMEOUT);
        for (int i = 0; i < 100; ++i)
            uct_worker_progress(ctx.worker);
        EXPECT_EQ(seen.calls, 1) << "reported more than once";
    }
};

TEST_F(UctVeshmAmFailure, KilledPeerIsReportedByEpCheck) {
    expect_reported_by_ep_check_after([this] { peer.kill_now(); });
}

// The peer process lives on but closes its interface (a UCP worker
// destroyed): its FIFO is gone, and the endpoint is reported like a dead
// peer's (UCX's test_uct_peer_failure_keepalive.killed does this in one
// process).
TEST_F(UctVeshmAmFailure, ClosedPeerInterfaceIsReportedByEpCheck) {
    expect_reported_by_ep_check_after(
        [this] { ASSERT_EQ(peer.call(PEER_CLOSE_IFACE, 0, 0).status, UCS_OK); });
}

// uct_ep_invalidate (UCX's suite injects peer failure with it): the
// endpoint fails as if its peer had died, reported once.
TEST_F(UctVeshmAmFailure, InvalidatedEndpointIsReported) {
    ASSERT_NO_FATAL_FAILURE(connect_peer());
    ASSERT_EQ(uct_ep_invalidate(ep, 0), UCS_OK);
    // Nothing can start to a failed peer: a pending request is queued (BUSY
    // would make the caller retry at once), and purged by the error handling.
    PendingAm p{{}, ep, 0, 0};
    p.req.func = [](uct_pending_req_t *r) -> ucs_status_t {
        auto *pa = reinterpret_cast<PendingAm *>(r);
        ++pa->calls;
        return uct_ep_am_short(pa->ep, kAmId, pa->n, nullptr, 0);
    };
    EXPECT_EQ(uct_ep_pending_add(ep, &p.req, 0), UCS_OK);
    wait_report();
    int purged = 0;
    uct_ep_pending_purge(
        ep, [](uct_pending_req_t *, void *arg) { ++*static_cast<int *>(arg); }, &purged);
    EXPECT_EQ(purged, 1);
}

// The built-in keepalive: only progress, no check, no operation.
TEST_F(UctVeshmAmFailure, KilledPeerIsReportedToAnIdleWaiter) {
    ASSERT_NO_FATAL_FAILURE(connect_peer());
    peer.kill_now();
    wait_report();
}

} // namespace
