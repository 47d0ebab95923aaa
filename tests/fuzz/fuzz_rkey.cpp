// The packed remote key of the UCX transport (ucx_tl_veshm/
// veshm_rkey_format.h) comes from a peer process: the decoder must never read
// past the key, must accept only keys whose arithmetic is safe, and must give
// back exactly what was encoded. Each input is decoded as it is and once more
// with a correct checksum, so the field checks are reached without the
// fuzzer having to find FNV-1a values.
#include "veshm_rkey_format.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

constexpr uint64_t kVeBit = 1ULL << 63;

uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

void check(const uint8_t *data, size_t size) {
    veshm_rkey_info_t info;
    memset(&info, 0xa5, sizeof info);
    int rc = veshm_rkey_decode(data, size, &info);
    if (rc != VESHM_RKEY_OK) {
        // A refused key: a documented code, and nothing of it handed out.
        if (rc != VESHM_RKEY_ETRUNC && rc != VESHM_RKEY_EMAGIC && rc != VESHM_RKEY_EVERSION &&
            rc != VESHM_RKEY_ECHECKSUM && rc != VESHM_RKEY_EFIELD)
            abort();
        veshm_rkey_info_t zero;
        memset(&zero, 0, sizeof zero);
        if (memcmp(&info, &zero, sizeof info) != 0)
            abort();
        if (size < VESHM_RKEY_PACKED_SIZE && rc != VESHM_RKEY_ETRUNC)
            abort();
        return;
    }
    if (size < VESHM_RKEY_PACKED_SIZE || veshm_rkey_validate(&info) != VESHM_RKEY_OK)
        abort();
    // What the transport computes from an accepted key must not overflow:
    // the region lies inside the areas, the areas inside one VE process.
    if (info.kind == VESHM_RKEY_KIND_VE) {
        if (!(info.area_hmem & kVeBit) || info.area_count == 0 || info.granule == 0)
            abort();
        __uint128_t span = (__uint128_t)info.granule * info.area_count;
        __uint128_t area_end = (__uint128_t)info.area_hmem + span;
        if (area_end > ((__uint128_t)1 << 64) || info.region_len == 0 ||
            info.region_hmem < info.area_hmem ||
            (__uint128_t)info.region_hmem + info.region_len > area_end ||
            (__uint128_t)info.region_addr + info.region_len > ((__uint128_t)1 << 64))
            abort();
        if (((info.area_hmem + (uint64_t)(span - 1)) >> 59) != (info.area_hmem >> 59))
            abort();
    } else if (info.kind != VESHM_RKEY_KIND_HOST) {
        abort();
    }
    // Encoding it again gives the very bytes that were decoded.
    uint8_t again[VESHM_RKEY_PACKED_SIZE];
    if (veshm_rkey_encode(&info, again, sizeof again) != VESHM_RKEY_OK ||
        memcmp(again, data, sizeof again) != 0)
        abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(data, size);
    if (size >= VESHM_RKEY_PACKED_SIZE) {
        // Same bytes with the checksum the decoder wants, in a buffer of the
        // same size (a sanitizer still sees any overread).
        auto *fixed = new uint8_t[size];
        memcpy(fixed, data, size);
        uint32_t sum = fnv1a(fixed, 80);
        for (int i = 0; i < 4; ++i)
            fixed[80 + i] = (uint8_t)(sum >> (8 * i));
        check(fixed, size);
        delete[] fixed;
    }
    return 0;
}
