// The packed remote key: round trip, and every malformed key refused.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "veshm_rkey_format.h"

namespace {

veshm_rkey_info_t good() {
    veshm_rkey_info_t k{};
    k.kind = VESHM_RKEY_KIND_VE;
    k.owner_pid = 1234;
    k.syncnum = 0;
    k.mode_flag = 0x4;
    k.granule = 64ull << 20;
    k.area_hmem = 0x8800000000000000ull | (0x600000000000ull);
    k.area_count = 3;
    k.region_addr = 0x7f0000001000ull;
    k.region_hmem = k.area_hmem + 4096;
    k.region_len = 100ull << 20;
    k.host_guid = 42;
    k.epoch = 0x0123456789abcdefull;
    return k;
}

TEST(RkeyFormat, RoundTrip) {
    uint8_t buf[VESHM_RKEY_PACKED_SIZE];
    veshm_rkey_info_t k = good(), out;
    ASSERT_EQ(veshm_rkey_encode(&k, buf, sizeof buf), VESHM_RKEY_OK);
    ASSERT_EQ(veshm_rkey_decode(buf, sizeof buf, &out), VESHM_RKEY_OK);
    // Field by field: the struct's padding bytes are not part of the key.
    EXPECT_EQ(out.kind, k.kind);
    EXPECT_EQ(out.owner_pid, k.owner_pid);
    EXPECT_EQ(out.syncnum, k.syncnum);
    EXPECT_EQ(out.mode_flag, k.mode_flag);
    EXPECT_EQ(out.granule, k.granule);
    EXPECT_EQ(out.area_hmem, k.area_hmem);
    EXPECT_EQ(out.area_count, k.area_count);
    EXPECT_EQ(out.region_addr, k.region_addr);
    EXPECT_EQ(out.region_hmem, k.region_hmem);
    EXPECT_EQ(out.region_len, k.region_len);
    EXPECT_EQ(out.host_guid, k.host_guid);
    EXPECT_EQ(out.epoch, k.epoch);
    veshm_rkey_info_t h{};
    h.kind = VESHM_RKEY_KIND_HOST;
    ASSERT_EQ(veshm_rkey_encode(&h, buf, sizeof buf), VESHM_RKEY_OK);
    ASSERT_EQ(veshm_rkey_decode(buf, sizeof buf, &out), VESHM_RKEY_OK);
    EXPECT_EQ(out.kind, (uint32_t)VESHM_RKEY_KIND_HOST);
}

TEST(RkeyFormat, TruncatedAndForeign) {
    uint8_t buf[VESHM_RKEY_PACKED_SIZE];
    veshm_rkey_info_t k = good(), out;
    ASSERT_EQ(veshm_rkey_encode(&k, buf, sizeof buf), VESHM_RKEY_OK);
    for (size_t n = 0; n < sizeof buf; ++n)
        EXPECT_EQ(veshm_rkey_decode(buf, n, &out), VESHM_RKEY_ETRUNC);
    EXPECT_EQ(veshm_rkey_decode(nullptr, sizeof buf, &out), VESHM_RKEY_ETRUNC);
    buf[0] ^= 1;
    EXPECT_EQ(veshm_rkey_decode(buf, sizeof buf, &out), VESHM_RKEY_EMAGIC);
}

TEST(RkeyFormat, EveryBitFlipIsRefusedOrStillValid) {
    uint8_t buf[VESHM_RKEY_PACKED_SIZE];
    veshm_rkey_info_t k = good(), out;
    ASSERT_EQ(veshm_rkey_encode(&k, buf, sizeof buf), VESHM_RKEY_OK);
    for (size_t bit = 0; bit < 8 * sizeof buf; ++bit) {
        uint8_t c[sizeof buf];
        memcpy(c, buf, sizeof c);
        c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        EXPECT_NE(veshm_rkey_decode(c, sizeof c, &out), VESHM_RKEY_OK) << "bit " << bit;
    }
}

TEST(RkeyFormat, InconsistentFieldsRefused) {
    uint8_t buf[VESHM_RKEY_PACKED_SIZE];
    std::vector<void (*)(veshm_rkey_info_t &)> breakers{
        [](veshm_rkey_info_t &k) { k.kind = 7; },
        [](veshm_rkey_info_t &k) { k.owner_pid = 0; },
        [](veshm_rkey_info_t &k) { k.syncnum = 4; },
        [](veshm_rkey_info_t &k) { k.mode_flag |= 0x4000; },
        [](veshm_rkey_info_t &k) { k.granule = 3 << 20; },
        [](veshm_rkey_info_t &k) { k.granule = 1024; },
        [](veshm_rkey_info_t &k) { k.area_count = 0; },
        [](veshm_rkey_info_t &k) { k.area_hmem &= ~0x8000000000000000ull; },
        [](veshm_rkey_info_t &k) { k.area_hmem += 4096; },
        [](veshm_rkey_info_t &k) { k.region_len = 0; },
        [](veshm_rkey_info_t &k) { k.region_len = 4ull << 30; },
        [](veshm_rkey_info_t &k) { k.region_hmem = k.area_hmem - 1; },
        [](veshm_rkey_info_t &k) { k.region_hmem = k.area_hmem + 3 * (64ull << 20) - 10; },
        [](veshm_rkey_info_t &k) { k.region_addr = ~0ull - 10; },
        [](veshm_rkey_info_t &k) { k.area_hmem = 0xfffffffffc000000ull; },
    };
    for (size_t i = 0; i < breakers.size(); ++i) {
        veshm_rkey_info_t k = good();
        breakers[i](k);
        EXPECT_EQ(veshm_rkey_encode(&k, buf, sizeof buf), VESHM_RKEY_EFIELD) << i;
    }
}

TEST(RkeyFormat, RandomBytesNeverCrash) {
    // Random bytes stop at the magic: the header checks alone are reached.
    std::mt19937_64 rng(5);
    uint8_t buf[VESHM_RKEY_PACKED_SIZE];
    veshm_rkey_info_t out;
    for (int i = 0; i < 100000; ++i) {
        for (auto &b : buf)
            b = (uint8_t)rng();
        int rc = veshm_rkey_decode(buf, sizeof buf, &out);
        if (rc == VESHM_RKEY_OK) {
            EXPECT_EQ(veshm_rkey_validate(&out), VESHM_RKEY_OK);
        }
    }
}

// The packed layout (veshm_rkey_format.c): offset and width of each field,
// and the FNV-1a checksum of bytes 0..87 at 88.
struct Field {
    unsigned off, width;
};
const Field kFields[] = {{6, 2},  {8, 4},  {12, 4}, {16, 8}, {24, 8}, {32, 8},
                         {40, 4}, {48, 8}, {56, 8}, {64, 8}, {72, 8}, {80, 8}};

void put_le(uint8_t *p, uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i)
        p[i] = (uint8_t)(v >> (8 * i));
}

void seal(uint8_t *p) {
    uint32_t h = 2166136261u;
    for (unsigned i = 0; i < 88; ++i) {
        h ^= p[i];
        h *= 16777619u;
    }
    put_le(p + 88, h, 4);
}

// What the transport relies on in every key the decoder accepts, written
// out on its own (not veshm_rkey_validate): the region lies inside the
// areas, nothing wraps, every field is in its documented range.
::testing::AssertionResult usable(const veshm_rkey_info_t &k) {
    auto bad = [&](const char *why) { return ::testing::AssertionFailure() << why; };
    if (k.kind == VESHM_RKEY_KIND_HOST)
        return k.owner_pid == 0 && k.granule == 0 && k.area_count == 0 && k.region_len == 0 &&
                       k.area_hmem == 0 && k.region_hmem == 0 && k.mode_flag == 0 &&
                       k.syncnum == 0 && k.region_addr == 0 && k.epoch == 0
                   ? ::testing::AssertionSuccess()
                   : bad("host key with VE fields");
    if (k.kind != VESHM_RKEY_KIND_VE)
        return bad("unknown kind");
    if (k.owner_pid <= 0 || k.syncnum < 0 || k.syncnum > 3)
        return bad("owner pid or syncnum");
    if (k.mode_flag & ~(uint64_t)(0x1 | 0x2 | 0x4 | 0x10 | 0x1000))
        return bad("mode flag");
    if (k.granule < 4096 || k.granule > (1ull << 40) || (k.granule & (k.granule - 1)))
        return bad("granule");
    if (k.area_count == 0 || k.area_count > VESHM_RKEY_MAX_AREAS)
        return bad("area count");
    if (!(k.area_hmem >> 63) || k.area_hmem % k.granule)
        return bad("area address");
    unsigned __int128 span = (unsigned __int128)k.granule * k.area_count;
    unsigned __int128 area_end = (unsigned __int128)k.area_hmem + span;
    if (area_end > ((unsigned __int128)(k.area_hmem >> 59) + 1) << 59)
        return bad("areas run out of the process's HMEM range");
    if (k.region_len == 0 || k.region_hmem < k.area_hmem ||
        (unsigned __int128)k.region_hmem + k.region_len > area_end)
        return bad("region outside the areas");
    if ((unsigned __int128)k.region_addr + k.region_len > ~(uint64_t)0)
        return bad("region address wraps");
    return ::testing::AssertionSuccess();
}

TEST(RkeyFormat, RandomFieldsBehindAValidHeader) {
    // Keys with a right magic, version and checksum and one to four fields
    // made up (random, or values at the edges of their ranges): the decoder's
    // field checks decide. Each key it accepts must be usable, and both
    // outcomes must be common (else the checks were not exercised).
    std::mt19937_64 rng(7);
    uint8_t good_key[VESHM_RKEY_PACKED_SIZE];
    veshm_rkey_info_t k = good(), out;
    ASSERT_EQ(veshm_rkey_encode(&k, good_key, sizeof good_key), VESHM_RKEY_OK);
    const uint64_t edges[] = {0,
                              1,
                              2,
                              3,
                              4,
                              4095,
                              4096,
                              1ull << 20,
                              (1ull << 20) + 1,
                              64ull << 20,
                              (64ull << 20) - 1,
                              1ull << 40,
                              (1ull << 40) + 1,
                              0x7fffffff,
                              0x80000000,
                              0xffffffff,
                              0x8000000000000000ull,
                              0x87ffffffffff0000ull,
                              0x8800000000000000ull | 0x600000000000ull,
                              0x8800000000000000ull | 0x600004000000ull,
                              ~0ull - 10,
                              ~0ull};
    int accepted = 0, refused = 0;
    for (int i = 0; i < 200000; ++i) {
        uint8_t buf[VESHM_RKEY_PACKED_SIZE];
        memcpy(buf, good_key, sizeof buf);
        int changes = 1 + (int)(rng() % 4);
        for (int c = 0; c < changes; ++c) {
            const Field &f = kFields[rng() % (sizeof kFields / sizeof kFields[0])];
            uint64_t v = rng() % 3 == 0 ? rng() : edges[rng() % (sizeof edges / sizeof edges[0])];
            if (rng() % 4 == 0) { // near the good value
                uint64_t g = 0;
                for (unsigned byte = 0; byte < f.width; ++byte)
                    g |= (uint64_t)good_key[f.off + byte] << (8 * byte);
                v = g + rng() % 9 - 4;
            }
            put_le(buf + f.off, v, f.width);
        }
        seal(buf);
        int rc = veshm_rkey_decode(buf, sizeof buf, &out);
        if (rc == VESHM_RKEY_OK) {
            ++accepted;
            ASSERT_TRUE(usable(out)) << "input " << i;
        } else {
            ASSERT_EQ(rc, VESHM_RKEY_EFIELD) << "input " << i;
            ++refused;
        }
    }
    EXPECT_GT(accepted, 2000);
    EXPECT_GT(refused, 2000);
    RecordProperty("accepted", accepted);
    RecordProperty("refused", refused);
}

} // namespace
