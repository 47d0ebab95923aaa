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
    return k;
}

TEST(RkeyFormat, RoundTrip) {
    uint8_t buf[VESHM_RKEY_PACKED_SIZE];
    veshm_rkey_info_t k = good(), out;
    ASSERT_EQ(veshm_rkey_encode(&k, buf, sizeof buf), VESHM_RKEY_OK);
    ASSERT_EQ(veshm_rkey_decode(buf, sizeof buf, &out), VESHM_RKEY_OK);
    EXPECT_EQ(memcmp(&k, &out, sizeof k), 0);
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

} // namespace
