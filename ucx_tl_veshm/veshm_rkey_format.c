/* Packed remote key encoding and decoding: see veshm_rkey_format.h. */
#include "veshm_rkey_format.h"

#include <string.h>

/* Relative: this file is also built alone (tests, fuzzer) without the
 * project's include directory. */
#include "../include/veo_emu_hmem.h"
#include "../include/veo_veshm_defs.h"

#define KEY_MAGIC 0x4b485356u /* "VSHK" read as little endian */
#define OFF_CHECKSUM 88u

/* Mode flags a VESHM area may have been opened with. */
#define MODE_ALLOWED                                                                               \
    ((uint64_t)VE_SHM_RO | (uint64_t)VE_PCISYNC | (uint64_t)VE_REGISTER_PCI |                      \
     (uint64_t)VE_MAP_256MB | (uint64_t)VE_REGISTER_NONE)

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

int veshm_rkey_validate(const veshm_rkey_info_t *k) {
    if (k == NULL)
        return VESHM_RKEY_EFIELD;
    if (k->kind == VESHM_RKEY_KIND_HOST) {
        /* Nothing else may be set. */
        if (k->owner_pid || k->syncnum || k->mode_flag || k->granule || k->area_hmem ||
            k->area_count || k->region_addr || k->region_hmem || k->region_len || k->epoch)
            return VESHM_RKEY_EFIELD;
        return VESHM_RKEY_OK;
    }
    if (k->kind != VESHM_RKEY_KIND_VE)
        return VESHM_RKEY_EFIELD;
    if (k->owner_pid <= 0 || k->syncnum < 0 || k->syncnum > 3)
        return VESHM_RKEY_EFIELD;
    if (k->mode_flag & ~MODE_ALLOWED)
        return VESHM_RKEY_EFIELD;
    /* Granule: a power of two between 4 KiB and 1 TiB. */
    if (k->granule < VESHM_RKEY_MIN_GRANULE || k->granule > (1ull << 40) ||
        (k->granule & (k->granule - 1)) != 0)
        return VESHM_RKEY_EFIELD;
    if (k->area_count == 0 || k->area_count > VESHM_RKEY_MAX_AREAS)
        return VESHM_RKEY_EFIELD;
    /* Areas: VE memory (HMEM bit 63), granule aligned, no wrap-around. */
    if (!(k->area_hmem & VEO_EMU_HMEM_VE_FLAG) || (k->area_hmem & (k->granule - 1)) != 0)
        return VESHM_RKEY_EFIELD;
    uint64_t span = k->granule * (uint64_t)k->area_count; /* <= 2^60, no overflow */
    if (k->area_hmem + span < k->area_hmem)
        return VESHM_RKEY_EFIELD;
    /* The area end must stay in the same process identifier's address range. */
    if (((k->area_hmem + span - 1) & 0xf800000000000000ull) !=
        (k->area_hmem & 0xf800000000000000ull))
        return VESHM_RKEY_EFIELD;
    /* Region: non-empty, inside the areas, its host range does not wrap. */
    if (k->region_len == 0 || k->region_len > span)
        return VESHM_RKEY_EFIELD;
    if (k->region_hmem < k->area_hmem || k->region_hmem - k->area_hmem > span - k->region_len)
        return VESHM_RKEY_EFIELD;
    if (k->region_addr + k->region_len < k->region_addr)
        return VESHM_RKEY_EFIELD;
    return VESHM_RKEY_OK;
}

int veshm_rkey_encode(const veshm_rkey_info_t *info, void *buf, size_t len) {
    if (buf == NULL || len < VESHM_RKEY_PACKED_SIZE)
        return VESHM_RKEY_ETRUNC;
    int rc = veshm_rkey_validate(info);
    if (rc != VESHM_RKEY_OK)
        return rc;
    uint8_t *p = (uint8_t *)buf;
    memset(p, 0, VESHM_RKEY_PACKED_SIZE);
    put32(p + 0, KEY_MAGIC);
    put16(p + 4, VESHM_RKEY_VERSION);
    put16(p + 6, (uint16_t)info->kind);
    put32(p + 8, (uint32_t)info->owner_pid);
    put32(p + 12, (uint32_t)info->syncnum);
    put64(p + 16, info->mode_flag);
    put64(p + 24, info->granule);
    put64(p + 32, info->area_hmem);
    put32(p + 40, info->area_count);
    put64(p + 48, info->region_addr);
    put64(p + 56, info->region_hmem);
    put64(p + 64, info->region_len);
    put64(p + 72, info->host_guid);
    put64(p + 80, info->epoch);
    put32(p + OFF_CHECKSUM, fnv1a(p, OFF_CHECKSUM));
    return VESHM_RKEY_OK;
}

int veshm_rkey_decode(const void *buf, size_t len, veshm_rkey_info_t *info) {
    if (info == NULL)
        return VESHM_RKEY_EFIELD;
    memset(info, 0, sizeof(*info));
    if (buf == NULL || len < VESHM_RKEY_PACKED_SIZE)
        return VESHM_RKEY_ETRUNC;
    const uint8_t *p = (const uint8_t *)buf;
    if (get32(p) != KEY_MAGIC)
        return VESHM_RKEY_EMAGIC;
    if (get16(p + 4) != VESHM_RKEY_VERSION)
        return VESHM_RKEY_EVERSION;
    if (get32(p + OFF_CHECKSUM) != fnv1a(p, OFF_CHECKSUM))
        return VESHM_RKEY_ECHECKSUM;
    if (get32(p + 44) != 0 || get32(p + 92) != 0)
        return VESHM_RKEY_EFIELD;
    veshm_rkey_info_t k;
    k.kind = get16(p + 6);
    k.owner_pid = (int32_t)get32(p + 8);
    k.syncnum = (int32_t)get32(p + 12);
    k.mode_flag = get64(p + 16);
    k.granule = get64(p + 24);
    k.area_hmem = get64(p + 32);
    k.area_count = get32(p + 40);
    k.region_addr = get64(p + 48);
    k.region_hmem = get64(p + 56);
    k.region_len = get64(p + 64);
    k.host_guid = get64(p + 72);
    k.epoch = get64(p + 80);
    int rc = veshm_rkey_validate(&k);
    if (rc != VESHM_RKEY_OK)
        return rc;
    *info = k;
    return VESHM_RKEY_OK;
}

const char *veshm_rkey_strerror(int code) {
    switch (code) {
    case VESHM_RKEY_OK:
        return "ok";
    case VESHM_RKEY_ETRUNC:
        return "truncated key";
    case VESHM_RKEY_EMAGIC:
        return "not a veshm key";
    case VESHM_RKEY_EVERSION:
        return "unknown key version";
    case VESHM_RKEY_ECHECKSUM:
        return "key checksum mismatch";
    case VESHM_RKEY_EFIELD:
        return "key field out of range";
    default:
        return "unknown error";
    }
}
